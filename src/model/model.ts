import { DEFAULT_COMPOSITE, resolveComposite, type CompositeSpec } from '../composites.js';
import { fail } from '../errors.js';
import { propagate } from '../propagation/propagate.js';
import type { Engine, LayerRelevance } from '../propagation/types.js';
import { referenceEngine } from '../reference/engine.js';
import { DEFAULT_MEMORY_LIMIT, WASM32_MAX } from '../wasm/arena.js';
import { leastRunBytes, WasmEngine } from '../wasm/engine.js';
import { checkThreads, defaultThreads } from '../wasm/threads.js';
import { defaultKernelBuild, type KernelBuild } from '../wasm/load.js';
import { softmaxRows } from '../ops/softmax.js';
import { gradientRule } from '../rules/gradient.js';
import type { BoundSpec, Rule } from '../rules/types.js';
import { canonicalize } from '../graph/canonicalize.js';
import { Graph } from '../graph/graph.js';
import type { Preprocessing } from './preprocessing.js';
import { checkOptions } from '../options.js';
import { checkInput, parseTargets, resolveTargets } from '../validate.js';

export type Backend = 'wasm' | 'reference';
export const BACKENDS: readonly Backend[] = ['wasm', 'reference'];

export interface ModelInfo {
  name?: string;
  arch?: string;
  /** Whose layout the weights came in (torchvision, timm, paddle), for state dicts. */
  origin?: string;
  /** Class names, index by class. */
  labels?: readonly string[];
  /** Range of preprocessed inputs (z-box's default bounds): numbers or one value per channel. */
  inputRange?: { low: BoundSpec; high: BoundSpec };
  /** How a photo becomes this model's input. */
  preprocessing?: Preprocessing;
  /** Set when relprop guessed the preprocessing: on what (the file did not say, the graph's scaling ...). */
  preprocessingGuess?: string;
}

export interface RunOptions {
  /** Number of images in the input (default 1). */
  batch?: number;
  /** 'wasm' (default): the SIMD engine; 'reference': the float64 TypeScript specification. */
  backend?: Backend;
  /** Most bytes of wasm memory the wasm engine may use (default 3 GiB; wasm32 allows 4 GiB). */
  memoryLimit?: number;
  /**
   * Which build of the wasm kernels: 'relaxed-simd' (fused multiply-adds) or 'simd'. Default: the
   * relaxed one where the runtime has relaxed SIMD. Each build used keeps its own copy of the weights.
   */
  kernels?: KernelBuild;
  /**
   * Threads the wasm engine splits large passes across (default: the model's, see ModelOptions).
   * Results are the same, bit for bit, for any number.
   */
  threads?: number;
}

/** How a model runs unless a call says otherwise. */
export interface ModelOptions {
  /** Threads (default: the machine's cores, at most 8; one where shared memory or workers are missing). */
  threads?: number;
}

/** A class index, its digits, a label (case-, space- and underscore-insensitive), or 'top1'. */
export type Target = number | string;

const RUN_OPTIONS = ['batch', 'backend', 'memoryLimit', 'kernels', 'threads'] as const satisfies readonly (keyof RunOptions)[];
const GRADIENT_OPTIONS = [...RUN_OPTIONS, 'target', 'initial'] as const satisfies readonly (keyof ExplainOptions)[];
const EXPLAIN_OPTIONS = [...GRADIENT_OPTIONS, 'composite', 'layers'] as const satisfies readonly (keyof ExplainOptions)[];

export interface ExplainOptions extends RunOptions {
  /** A composite name or options object (default DEFAULT_COMPOSITE, 'epsilon-gamma-box'). */
  composite?: CompositeSpec;
  /** Class to explain: an index (or label), one per image, or the top-1 class when left out. */
  target?: Target | Target[];
  /** Starting relevance at the target logit: 1.0 ('one-hot', as Zennit) or the logit's value. */
  initial?: 'one-hot' | 'logit';
  /** Also report each layer's total relevance (a conservation report). */
  layers?: boolean;
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

  /** Threads runs use unless they say (undefined: the default, resolved on first use). */
  private readonly threads: number | undefined;

  constructor(graph: Graph, info: ModelInfo = {}, options: ModelOptions = {}) {
    this.graph = graph;
    this.info = info;
    this.threads = options.threads === undefined ? undefined : checkThreads(options.threads, 'model options');
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
    const { engine, threads } = await this.engine(options);
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
    const composite = resolveComposite(options.composite ?? DEFAULT_COMPOSITE);
    const graph = this.canonicalGraph(composite.foldBatchNorm);
    const rules = composite.assign(graph);
    const initial = options.initial ?? composite.initial;
    return this.propagate(await this.engine(options), graph, input, options, rules, initial, options.layers ?? false, true);
  }

  /** The plain gradient of the target logit with respect to the input. */
  async gradient(input: Float32Array, options: Omit<ExplainOptions, 'composite' | 'layers'> = {}): Promise<GradientResult> {
    this.check(options, GRADIENT_OPTIONS, 'gradient');
    const graph = this.canonicalGraph(true);
    const rule = gradientRule();
    const rules = new Map<string, Rule>(graph.nodes.map((n) => [n.name, rule]));
    const r = this.propagate(await this.engine(options), graph, input, options, rules, options.initial ?? 'one-hot', false, false);
    return { gradient: r.relevance, logits: r.logits, targets: r.targets };
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
  }

  private propagate({ engine, threads }: { engine: Engine; threads: number }, graph: Graph, input: Float32Array, options: ExplainOptions, rules: Map<string, Rule>, initial: string, report: boolean, keepZ: boolean): Explanation {
    if (initial !== 'one-hot' && initial !== 'logit') fail('BAD_OPTION', `initial must be 'one-hot' or 'logit', got "${initial}"`);
    const { x, batch } = checkInput(input, this.inputShape, options.batch);
    const k = this.numClasses;
    // Targets are checked before anything runs; only 'top1' waits for the logits.
    const wanted = parseTargets(options.target, batch, k, this.info.labels);
    // LRP rules read each layer's z (epsilon, gamma, z-box): kept from the forward pass, not computed again.
    const session = engine.run(graph, x, batch, threads, keepZ);
    try {
      const logits = session.logits();
      const targets = resolveTargets(wanted, logits, k);
      const start = new Float64Array(batch * k);
      targets.forEach((t, b) => {
        start[b * k + t] = initial === 'logit' ? logits[b * k + t] : 1;
      });
      const { relevance, layers } = propagate(session, rules, start, { inputRange: this.info.inputRange, report });
      return { relevance, logits, target: targets[0], targets, ...(layers ? { layers } : {}) };
    } finally {
      session.release();
    }
  }

  /** The engine a call runs on, with the threads it may use started. */
  private async engine(options: RunOptions): Promise<{ engine: Engine; threads: number }> {
    if (options.backend === 'reference') return { engine: referenceEngine, threads: 1 };
    const wanted = options.threads !== undefined ? checkThreads(options.threads, 'options') : (this.threads ?? (await defaultThreads()));
    const limit = options.memoryLimit ?? DEFAULT_MEMORY_LIMIT;
    if (!(limit > 0)) fail('BAD_OPTION', `memoryLimit must be a positive number of bytes, got ${options.memoryLimit}`);
    const build = options.kernels ?? defaultKernelBuild();
    if (build !== 'simd' && build !== 'relaxed-simd') fail('BAD_OPTION', `unknown kernels "${String(build)}"; available: relaxed-simd, simd`);
    let created = this.wasm.get(build);
    if (!created) {
      created = WasmEngine.create(limit, build);
      this.wasm.set(build, created);
    }
    const engine = await created;
    engine.arena.limit = limit;
    const why = await engine.useThreads(wanted);
    if (why !== null) warnOnce(`relprop: running on one thread, not ${wanted}: ${why}`);
    return { engine, threads: wanted };
  }

  private check(options: RunOptions, known: readonly string[], call: string): void {
    if (this.disposed) fail('DISPOSED', `model.${call}: this model was disposed (dispose() frees its memory for good); load it again to use it`);
    checkOptions(options, known, `model.${call}`);
    if (options.backend !== undefined && !BACKENDS.includes(options.backend)) {
      fail('BAD_OPTION', `unknown backend "${options.backend}"; available: ${BACKENDS.join(', ')}`);
    }
  }
}

let warned = false;
/** Says once per process that threads were asked for and cannot run (a page without cross-origin isolation). */
function warnOnce(message: string): void {
  if (warned) return;
  warned = true;
  console.warn(message);
}
