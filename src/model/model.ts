import { fail } from '../errors.js';
import { propagate } from '../propagation/propagate.js';
import type { Engine, LayerRelevance } from '../propagation/types.js';
import { readingZ } from '../propagation/reading-z.js';
import { referenceEngine } from '../reference/engine.js';
import { DEFAULT_MEMORY_LIMIT, WASM32_MAX } from '../wasm/arena.js';
import { WasmEngine } from '../wasm/engine.js';
import { leastRunBytes } from '../wasm/footprint.js';
import { checkThreads, defaultThreads } from '../wasm/threads.js';
import { defaultKernelBuild, type KernelBuild } from '../wasm/load.js';
import { softmaxRows } from '../ops/softmax.js';
import { gradientRule } from '../rules/gradient.js';
import type { Rule } from '../rules/types.js';
import { canonicalize } from '../graph/canonicalize.js';
import { Graph } from '../graph/graph.js';
import { checkOptions } from '../options.js';
import { checkInput, resolveTargets } from '../validate.js';
import type { Passes } from '../attribution/types.js';
import { attribute, type Attribution } from './attribute.js';
import { enginePasses } from './passes.js';
import { ReplicaSet, replicasAvailable } from './replica.js';
import { spreadPasses } from './spread-passes.js';
import { engineRequest, EXPLAIN_OPTIONS, explainRequest, GRADIENT_OPTIONS, RUN_OPTIONS, type AttributeOptions, type EngineRequest, type ExplainOptions, type ExplainRequest, type RequestContext, type RunOptions } from './request.js';
import { defaultCompositeFor } from '../composites.js';

export type { Attribution } from './attribute.js';
export type { ModelInfo } from './model-info.js';
import type { ModelInfo } from './model-info.js';
export { BACKENDS, type AttributeOptions, type Backend, type ExplainOptions, type RunOptions, type Target } from './request.js';

/** How a model runs unless a call says otherwise. */
export interface ModelOptions {
  /** Threads (default: the machine's cores, at most 8; one where shared memory or workers are missing). */
  threads?: number;
}

export interface Explanation {
  /** Relevance of every input element, NCHW like the input. */
  relevance: Float32Array;
  /** Logits of every image, N x classes. */
  logits: Float32Array;
  /** The explained class of the first image. */
  target: number;
  /** The explained class of each image. */
  targets: number[];
  layers?: LayerRelevance[];
}

export interface GradientResult {
  /** d logit[target] / d input (times the logit with initial 'logit'), NCHW like the input. */
  gradient: Float32Array;
  logits: Float32Array;
  targets: number[];
}

/**
 * A classifier that can be run and explained. It keeps the graph as built or imported; explanations run
 * on its canonical form (BatchNorm folded unless the composite keeps it).
 */
export class Model {
  readonly graph: Graph;
  readonly info: ModelInfo;
  private readonly canonical = new Map<boolean, Graph>();
  private disposed = false;
  private readonly wasm = new Map<KernelBuild, Promise<WasmEngine>>();
  /** Copies of the model on worker threads, for methods' image-parallel passes (src/model/replica.ts). */
  private readonly replicas: ReplicaSet;

  /** Threads runs use unless they say (undefined: the default, resolved on first use). */
  private readonly threads: number | undefined;

  constructor(graph: Graph, info: ModelInfo = {}, options: ModelOptions = {}) {
    this.graph = graph;
    this.info = info;
    this.threads = options.threads === undefined ? undefined : checkThreads(options.threads, 'model options');
    this.replicas = new ReplicaSet(graph, info.inputRange);
    if (info.labels && info.labels.length !== graph.numClasses) {
      fail('BAD_GRAPH', `model has ${graph.numClasses} classes but ${info.labels.length} labels`);
    }
  }

  get inputShape(): readonly number[] {
    return this.graph.input.shape;
  }

  get numClasses(): number {
    return this.graph.numClasses;
  }

  /** The graph rules apply to: identities removed, pads moved into convs, BatchNorm folded if asked. */
  canonicalGraph(foldBatchNorm = true): Graph {
    let g = this.canonical.get(foldBatchNorm);
    if (!g) {
      g = canonicalize(this.graph, { foldBatchNorm });
      this.canonical.set(foldBatchNorm, g);
    }
    return g;
  }

  /** Logits (the values before a final Softmax), N x classes; computed with BatchNorm folded. */
  async forward(input: Float32Array, options: RunOptions = {}): Promise<Float32Array> {
    this.check(options, RUN_OPTIONS, 'forward');
    const { x, batch } = checkInput(input, this.inputShape, options.batch);
    // The folded graph: what explanations use too, so one upload of the weights serves both.
    const { engine, threads } = await this.engine(engineRequest(options));
    const session = engine.run(this.canonicalGraph(true), x, batch, threads);
    try {
      return session.logits();
    } finally {
      session.release();
    }
  }

  /** Class probabilities: a softmax of the logits, or each logit's sigmoid for sigmoid heads (see Graph.head). */
  async predict(input: Float32Array, options: RunOptions = {}): Promise<Float32Array> {
    return Float32Array.from(this.probabilities(await this.forward(input, options), options.batch ?? 1));
  }

  /** The probabilities of logits from forward or explain, `batch` rows, as the model's head gives them. */
  probabilities(logits: ArrayLike<number>, batch = 1): Float64Array {
    if (this.graph.head === 'softmax') return softmaxRows(logits, batch);
    return Float64Array.from(logits, (z) => 1 / (1 + Math.exp(-z)));
  }

  /** Layer-wise Relevance Propagation of the target logit back to the input. */
  async explain(input: Float32Array, options: ExplainOptions = {}): Promise<Explanation> {
    this.check(options, EXPLAIN_OPTIONS, 'explain');
    const { x, batch } = checkInput(input, this.inputShape, options.batch);
    return this.run(x, explainRequest(this.requestContext, options, batch));
  }

  /** The plain gradient of the target logit with respect to the input. */
  async gradient(input: Float32Array, options: Omit<ExplainOptions, 'composite' | 'layers'> = {}): Promise<GradientResult> {
    this.check(options, GRADIENT_OPTIONS, 'gradient');
    const { x, batch } = checkInput(input, this.inputShape, options.batch);
    const r = await this.run(x, explainRequest(this.requestContext, options, batch, true));
    return { gradient: r.relevance, logits: r.logits, targets: r.targets };
  }

  /**
   * An attribution by any method: LRP, the gradient, gradient x input, integrated gradients,
   * SmoothGrad, Grad-CAM, occlusion or LIME, each as Captum defines it (README, Methods).
   */
  async attribute(input: Float32Array, options: AttributeOptions = {}): Promise<Attribution> {
    if (this.disposed) fail('DISPOSED', 'model.attribute: this model was disposed (dispose() frees its memory for good); load it again to use it');
    return attribute(this, input, options);
  }

  /**
   * The passes of attribution methods and metrics, on the engine of a resolved request, `chunk` images
   * an engine run; copies of more than one image run image-parallel on replicas where threads > 1.
   * @internal (model.attribute and evaluate check their requests, then call this)
   */
  async passes(request: EngineRequest, chunk: number): Promise<Passes> {
    if (this.disposed) fail('DISPOSED', 'this model was disposed (dispose() frees its memory for good); load it again to use it');
    if (request.backend === 'wasm') this.checkMemory({ batch: chunk, memoryLimit: request.memoryLimit });
    const { engine, threads: n, build } = await this.engine(request);
    const whole = enginePasses({ engine, threads: n, graph: (fold) => this.canonicalGraph(fold), inputRange: this.info.inputRange, chunk });
    // Many copies run image-parallel, on n replicas of one thread each.
    return build && n > 1 && replicasAvailable() ? spreadPasses(whole, () => this.replicas.get(n, build, request.memoryLimit), chunk) : whole;
  }

  /** What requests need to know of the model (its classes and labels, the composite it is explained with unless told). */
  get requestContext(): RequestContext {
    return { numClasses: this.numClasses, labels: this.info.labels, defaultComposite: defaultCompositeFor(this.graph) };
  }

  /**
   * Runs a request resolved by `explainRequest` on an input of its batch: what explain and gradient do
   * after checking their options, and what the image helpers call after checking theirs. Nothing is
   * checked again here.
   */
  async run(x: Float32Array, request: ExplainRequest): Promise<Explanation> {
    if (this.disposed) fail('DISPOSED', 'this model was disposed (dispose() frees its memory for good); load it again to use it');
    const { composite, batch, initial } = request;
    const graph = this.canonicalGraph(composite?.foldBatchNorm ?? true);
    const gradient = gradientRule();
    const rules = composite ? composite.assign(graph) : new Map<string, Rule>(graph.nodes.map((n) => [n.name, gradient]));
    const { engine, threads } = await this.engine(request.engine);
    const k = this.numClasses;
    // The z the rules read (epsilon's, gamma's) is kept from the forward pass, not computed again.
    const session = engine.run(graph, x, batch, threads, readingZ(rules));
    try {
      const logits = session.logits();
      const targets = resolveTargets(request.targets, logits, k);
      const start = new Float64Array(batch * k);
      targets.forEach((t, b) => {
        start[b * k + t] = initial === 'logit' ? logits[b * k + t] : 1;
      });
      const { relevance, layers } = propagate(session, rules, start, { inputRange: this.info.inputRange, report: request.layers });
      return { relevance, logits, target: targets[0], targets, ...(layers ? { layers } : {}) };
    } finally {
      session.release();
    }
  }

  /**
   * Fails with MEMORY_LIMIT, from the shapes alone and before anything is allocated, if a wasm run of
   * `batch` images cannot fit under `memoryLimit` (the image helpers call it before preparing a photo).
   */
  checkMemory(options: Pick<RunOptions, 'batch' | 'memoryLimit'> = {}): void {
    const batch = options.batch ?? 1;
    const limit = Math.min(options.memoryLimit ?? DEFAULT_MEMORY_LIMIT, WASM32_MAX);
    const need = leastRunBytes(this.canonicalGraph(true), batch);
    if (need > limit) {
      const [c, h, w] = this.inputShape;
      fail('MEMORY_LIMIT', `a run of ${batch} image${batch > 1 ? 's' : ''} of ${c}x${h}x${w} needs at least ${(need / 1024 ** 2).toFixed(0)} MiB of wasm memory (weights and activations)${need > WASM32_MAX ? ', more than the 4 GiB wasm32 can address: use a smaller input' : `, over the limit of ${(limit / 1024 ** 2).toFixed(0)} MiB (raise it with the memoryLimit option)`}`);
    }
  }

  /** Releases engine memory; the model cannot be used afterwards. */
  dispose(): void {
    this.disposed = true;
    for (const engine of this.wasm.values()) engine.then((e) => e.dispose(), () => {});
    this.wasm.clear();
    this.replicas.dispose();
  }

  /** The engine a request runs on, with the threads it may use started. */
  private async engine(request: EngineRequest): Promise<{ engine: Engine; threads: number; build?: KernelBuild }> {
    if (request.backend === 'reference') return { engine: referenceEngine, threads: 1 };
    const wanted = request.threads ?? this.threads ?? (await defaultThreads());
    const build = request.kernels ?? defaultKernelBuild();
    let created = this.wasm.get(build);
    if (!created) {
      created = WasmEngine.create(request.memoryLimit, build);
      this.wasm.set(build, created);
    }
    const engine = await created;
    engine.arena.limit = request.memoryLimit;
    const why = await engine.useThreads(wanted);
    if (why !== null) warnOnce(`relprop: running on one thread, not ${wanted}: ${why}`);
    return { engine, threads: wanted, build };
  }

  /** A public call's own check: the model is alive and every option is one the call takes. */
  private check(options: RunOptions, known: readonly string[], call: string): void {
    if (this.disposed) fail('DISPOSED', `model.${call}: this model was disposed (dispose() frees its memory for good); load it again to use it`);
    checkOptions(options, known, `model.${call}`);
  }
}

let warned = false;
/** Says once per process that threads were asked for and cannot run (a page without cross-origin isolation). */
function warnOnce(message: string): void {
  if (warned) return;
  warned = true;
  console.warn(message);
}
