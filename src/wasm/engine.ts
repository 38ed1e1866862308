import { fail, RelpropError } from '../errors.js';
import type { BackwardOptions, Engine, Session } from '../propagation/types.js';
import type { Graph } from '../graph/graph.js';
import type { AffineNode, GraphNode } from '../graph/nodes.js';
import type { Conv2dNode } from '../ops/conv2d.js';
import type { AffineLayer, LinearMap, Arithmetic, Transform } from '../rules/types.js';
import { opOf, type Buf, type WasmContext } from '../ops/index.js';
import type { AnyNode } from '../ops/op.js';
import { Arena, DEFAULT_MEMORY_LIMIT } from './arena.js';
import { BINARY, GEOM, GEOM_BYTES, transformCode } from './codes.js';
import { compiledKernels, defaultKernelBuild, instantiateKernels, type KernelBuild, type KernelExports } from './load.js';
import { threadsUnavailable, WorkerPool, type ThreadedKernel } from './threads.js';
import { CONTROL_BYTES } from './worker-source.js';
import { Lowering, NO_EPILOGUE, wasmArithmetic, type Convolutions, type Epilogue } from './lowering.js';

export type { Buf };

interface Uploaded {
  weight: number;
  bias: number;
  /**
   * Winograd's U = G g G^T of the plain weights, packed for the forward GEMMs, for the 3x3 stride-1
   * convolutions that use it; or 0. Transposed passes read it too. Rules' transforms get theirs per node.
   */
  winograd: number;
}

/** A relevance slot of the plan; the buffer in it changes when a ReLU hands its relevance over. */
interface Slot {
  buf: Buf;
}

const elements = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** Ends the worker threads of engines that were collected without being disposed. */
const poolsOfCollectedEngines = new FinalizationRegistry<WorkerPool>((pool) => pool.dispose());

/** Passes smaller than this run on one thread (see WasmSession.partsFor). */
const MIN_THREADED_MACS = 2 ** 17;

type Code = { code: number; gamma: number };
const PLAIN: Code = { code: 0, gamma: 0 };
const NO_BIAS: Code = { code: -1, gamma: 0 };


/**
 * One kernel call of a Conv2d node's pass: `batch` samples of `cin` channels into `cout`, at these byte
 * offsets from the node's input, weights, bias and output.
 */
interface ConvPart {
  batch: number;
  cin: number;
  cout: number;
  /** Which channel group (0 unless the layer is grouped and runs group by group). */
  group: number;
  x: number;
  w: number;
  b: number;
  y: number;
}

/** Depthwise layers (one input channel a group) run by a kernel of their own. */
const isDepthwise = (node: Conv2dNode) => node.groups > 1 && node.groups === node.inChannels;

/**
 * The kernel calls of a Conv2d node's pass. Plain and depthwise layers are one call. Other grouped
 * layers (ResNeXt's) run a plain convolution per sample and group on that group's channels, which are
 * contiguous within a sample but not across a batch; each such call is an ordinary convolution, so
 * Winograd, the flat rule's shortcut and the epilogues apply to it unchanged.
 */
function convParts(node: Conv2dNode, batch: number, [cin, h, w]: readonly number[], [cout, ho, wo]: readonly number[]): ConvPart[] {
  const G = node.groups;
  if (G === 1 || isDepthwise(node)) return [{ batch, cin, cout, group: 0, x: 0, w: 0, b: 0, y: 0 }];
  const cinG = cin / G, coutG = cout / G;
  const parts: ConvPart[] = [];
  for (let n = 0; n < batch; n++) {
    for (let g = 0; g < G; g++) {
      parts.push({ batch: 1, cin: cinG, cout: coutG, group: g, x: ((n * cin + g * cinG) * h * w) * 4, w: g * coutG * cinG * node.kernel[0] * node.kernel[1] * 4, b: g * coutG * 4, y: ((n * cout + g * coutG) * ho * wo) * 4 });
    }
  }
  return parts;
}

/**
 * A convolution's geometry, transforms, ReLU flag and epilogue (assembly/geometry.ts), in a block of its
 * own from the arena: every call gets its copy, so a convolution run while another's arguments are
 * prepared (a deferred input being computed) cannot change what the other reads.
 */
function geometryBlock(arena: Arena, graph: Graph, part: ConvPart, node: Conv2dNode, tw: Code, tb: Code, relu: boolean, epilogue = NO_EPILOGUE): number {
  const geom = arena.alloc(GEOM_BYTES, `the geometry of "${node.name}"`);
  const [, h, w] = graph.shape(node.inputs[0]);
  const [, ho, wo] = graph.shape(node.name);
  const g = arena.i32(geom, GEOM_BYTES / 4);
  const f = arena.f32(geom, GEOM_BYTES / 4);
  g[GEOM.batch] = part.batch;
  g[GEOM.cin] = part.cin;
  g[GEOM.h] = h;
  g[GEOM.w] = w;
  g[GEOM.cout] = part.cout;
  g[GEOM.ho] = ho;
  g[GEOM.wo] = wo;
  [g[GEOM.kh], g[GEOM.kw]] = node.kernel;
  [g[GEOM.sh], g[GEOM.sw]] = node.stride;
  [g[GEOM.pt], g[GEOM.pl]] = node.pads;
  [g[GEOM.dh], g[GEOM.dw]] = node.dilation;
  g[GEOM.tW] = tw.code;
  g[GEOM.tB] = tb.code;
  g[GEOM.relu] = relu ? 1 : 0;
  f[GEOM.gammaW] = tw.gamma;
  f[GEOM.gammaB] = tb.gamma;
  g[GEOM.epilogue] = epilogue.mode;
  g[GEOM.epilogueOperand] = epilogue.operand;
  f[GEOM.epilogueEps] = epilogue.eps;
  return geom;
}

/** The epilogue of one part: its operand is laid out as the part's output, at `offset` bytes. */
const shifted = (e: Epilogue, offset: number): Epilogue => (e.mode === NO_EPILOGUE.mode ? e : { ...e, operand: e.operand + offset });

/** Bytes of a batch's input and every activation it keeps for the backward pass. */
function inputAndActivationBytes(graph: Graph, batch: number): number {
  const input = batch * elements(graph.input.shape) * 4;
  return graph.upstream(graph.logitsName).reduce((s, n) => s + batch * elements(graph.shape(n.name)) * 4 + 16, input);
}

/**
 * The least wasm memory a run of `batch` images needs (weights, input, activations), from shapes
 * alone: more than the limit means no run can fit, so callers refuse before preparing any input.
 */
export function leastRunBytes(graph: Graph, batch: number): number {
  let weights = 0;
  for (const n of graph.nodes) if (n.op === 'Conv2d' || n.op === 'Linear') weights += (n.weight.length + (n.bias?.length ?? 0)) * 4;
  return weights + inputAndActivationBytes(graph, batch);
}

/**
 * The wasm SIMD engine. Weights are uploaded once per graph into the bottom of the arena; each run lays
 * out its activations above them, then the relevance slots the backward pass needs (planned from the
 * graph, reused as values die), then a scratch stack that every node's rule allocates from and that is
 * released after the node.
 */
export class WasmEngine implements Engine {
  readonly name = 'wasm';
  private readonly uploaded = new WeakMap<Graph, Map<string, Uploaded>>();
  private weightsTop: number;
  private busy = false;
  /** The worker threads, made by useThreads and kept; null: one thread. */
  private pool: WorkerPool | null = null;
  /** A pool being started: calls that come meanwhile wait for it instead of starting another. */
  private starting: Promise<void> | null = null;

  private constructor(
    readonly kernels: KernelExports,
    readonly arena: Arena,
    /** Which build of the kernels runs: 'relaxed-simd' where the runtime has it, else 'simd'. */
    readonly build: KernelBuild,
    /** Where the threaded build's control block is (shared memory), or null: the single-threaded build. */
    private readonly control: number | null,
  ) {
    this.weightsTop = arena.mark();
  }

  /**
   * An engine over shared memory (the threaded build) where the runtime has it, so that any number of
   * threads can join later; else the single-threaded build, and `why` says why not.
   */
  static async create(memoryLimit = DEFAULT_MEMORY_LIMIT, build: KernelBuild = defaultKernelBuild()): Promise<WasmEngine> {
    if (threadsUnavailable() !== null) {
      const kernels = await instantiateKernels(build);
      return new WasmEngine(kernels, new Arena(kernels, memoryLimit), build, null);
    }
    // Shared memory cannot grow past its maximum, and a later call may raise the limit: wasm32's 4 GiB.
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 65536, shared: true });
    const kernels = await instantiateKernels(build, memory);
    const arena = new Arena(kernels, memoryLimit);
    const control = arena.alloc(CONTROL_BYTES, 'the threads\' control block');
    return new WasmEngine(kernels, arena, build, control);
  }

  /**
   * Makes `threads` threads available to the next runs (workers are started once and kept), or says
   * why it cannot: then the runs use one thread.
   */
  async useThreads(threads: number): Promise<string | null> {
    if (threads <= 1) return null;
    if (this.control === null) return threadsUnavailable() ?? 'this engine was made without shared memory';
    while (this.starting) await this.starting;
    // A pool that lost a worker still computes right (the main thread takes the worker's parts); it is
    // replaced here, between calls, so that the next run has all its threads again.
    if (!this.pool || this.pool.threads < threads || this.pool.lost) {
      const control = this.control;
      this.starting = (async () => {
        // One pool at a time uses the control block: the old one ends before the new one starts.
        this.dropPool();
        const pool = await WorkerPool.create(await compiledKernels(this.build, true), this.kernels.memory, control, threads);
        // Workers hold no reference to the engine; an engine collected without dispose() ends them.
        poolsOfCollectedEngines.register(this, pool, pool);
        this.pool = pool;
      })();
      try {
        await this.starting;
      } finally {
        this.starting = null;
      }
    }
    return null;
  }

  /** How many of `wanted` threads a run gets: those useThreads started. */
  threadsFor(wanted: number): number {
    return Math.max(1, Math.min(wanted, this.pool?.threads ?? 1));
  }

  /** Runs a kernel in `parts` shares on the engine's threads, part 0 on this thread. */
  parallel(kernel: ThreadedKernel, args: number[], parts: number): void {
    const fn = this.kernels[kernel] as unknown as (...a: number[]) => void;
    if (parts <= 1 || !this.pool) {
      fn(...args, 0, 1, 0);
      return;
    }
    try {
      this.pool.run(kernel, args, parts, fn);
    } catch (e) {
      // A pool whose worker failed is not used again: the next call starts a new one.
      if (e instanceof RelpropError && e.code === 'WORKER_FAILED') this.dropPool();
      throw e;
    }
  }

  private dropPool(): void {
    if (!this.pool) return;
    poolsOfCollectedEngines.unregister(this.pool);
    this.pool.dispose();
    this.pool = null;
  }

  dispose(): void {
    this.dropPool();
  }

  /** For tests: stops one worker as a crash would. */
  killWorkerForTest(index: number): Promise<unknown> {
    return this.pool?.killForTest(index) ?? Promise.resolve();
  }

  run(graph: Graph, input: Float32Array, batch: number, threads = 1, keepZ = false): WasmSession {
    if (this.busy) fail('BAD_OPTION', 'the wasm engine runs one explanation at a time; this one started while another was unreleased');
    this.arena.reset(this.weightsTop);
    const weights = this.upload(graph);
    this.weightsTop = this.arena.mark();
    this.busy = true;
    try {
      return new WasmSession(this, graph, weights, input, batch, this.threadsFor(threads), keepZ, () => {
        this.busy = false;
        this.arena.reset(this.weightsTop);
      });
    } catch (e) {
      this.busy = false;
      this.arena.reset(this.weightsTop);
      throw e;
    }
  }

  private upload(graph: Graph): Map<string, Uploaded> {
    let map = this.uploaded.get(graph);
    if (map) return map;
    map = new Map();
    for (const node of graph.upstream(graph.logitsName)) {
      if (node.op !== 'Conv2d' && node.op !== 'Linear') continue;
      const { weight: source, scale } = node;
      const length = source.length;
      const weight = this.arena.alloc(length * 4, `the weights of "${node.name}"`);
      const dst = this.arena.f32(weight, length);
      if (scale) {
        // Fold BatchNorm on the way in, exactly as foldedWeight does, without a JavaScript copy.
        const per = length / scale.length;
        for (let c = 0; c < scale.length; c++) for (let i = c * per; i < (c + 1) * per; i++) dst[i] = scale[c] * source[i];
      } else {
        dst.set(source);
      }
      let bias = 0;
      if (node.bias) {
        bias = this.arena.alloc(node.bias.length * 4, `the bias of "${node.name}"`);
        this.arena.f32(bias, node.bias.length).set(node.bias);
      }
      let winograd = 0;
      // The kernels decide which convolutions run by Winograd, and which of those keep their forward U
      // (the others make it in each pass, through WasmSession.winogradU).
      const mark = this.arena.mark();
      const keeps = node.op === 'Conv2d' && node.groups === 1 && this.kernels.conv2d_keeps_winograd(geometryBlock(this.arena, graph, convParts(node, 1, graph.shape(node.inputs[0]), graph.shape(node.name))[0], node, PLAIN, NO_BIAS, false));
      this.arena.reset(mark);
      if (keeps) {
        const n = this.kernels.winograd_weights_size(node.inChannels, node.outChannels);
        winograd = this.arena.alloc(n * 4, `the Winograd weights of "${node.name}"`);
        this.kernels.winograd_weights(weight, node.inChannels, node.outChannels, winograd);
      }
      map.set(node.name, { weight, bias, winograd });
    }
    this.uploaded.set(graph, map);
    return map;
  }
}

export class WasmSession implements Session<Buf>, Convolutions {
  readonly math: Arithmetic<Buf>;
  private readonly lowering: Lowering;
  readonly k: KernelExports;
  readonly arena: Arena;
  private readonly values = new Map<string, Buf>();
  /** What nodes' forward passes keep for their backward passes (max-pool winners). */
  private readonly kept = new Map<string, number>();
  /** Per-node constants in wasm memory (BatchNorm's scale and shift), made in the forward pass. */
  private readonly constants = new Map<string, unknown>();
  /** ReLUs whose convolution applied them (they share its output). */
  private readonly fusedRelu = new Set<string>();
  /** Each value's relevance slot; values whose lives do not overlap share one (the same object). */
  private readonly slots = new Map<string, Slot>();
  /** The slot that holds each planned buffer, by its address (hand-overs swap buffers between slots). */
  private readonly slotAt = new Map<number, Slot>();
  private readonly filled = new Set<string>();
  /** Conv/Linear nodes whose stored value is their z = W x + b (no ReLU fused into it). */
  private readonly preActivation = new Set<string>();
  /** Whether this node's spent relevance buffer went to one of its inputs already. */
  private handedOver = false;
  /** Winograd U of a rule's weight transform, kept in the node's scratch for its other passes. */
  private readonly nodeU = new Map<string, number>();
  private readonly scratchBase: number;
  /** What op modules see of this session. */
  private readonly context: WasmContext;

  constructor(
    private readonly engine: WasmEngine,
    readonly graph: Graph,
    private readonly weights: Map<string, Uploaded>,
    input: Float32Array,
    readonly batch: number,
    /** Threads this run's large passes are split across. */
    private readonly threads: number,
    /** Whether each Conv keeps its z rather than applying the ReLU after it in place. */
    private readonly keepZ: boolean,
    private readonly onRelease: () => void,
  ) {
    this.k = engine.kernels;
    this.arena = engine.arena;
    this.lowering = new Lowering(this);
    this.math = wasmArithmetic(this, this.lowering);
    const elementsOf = (name: string) => batch * elements(graph.shape(name));
    const inputSized = (node: AnyNode, what: string) => this.buffer(elementsOf(node.inputs[0]), what);
    this.context = {
      graph,
      batch,
      k: this.k,
      arena: this.arena,
      value: (name) => this.value(name),
      output: (node) => this.buffer(elementsOf(node.name), `the output of "${node.name}"`),
      inputSized,
      sized: (name, what) => this.buffer(elementsOf(name), what),
      kept: this.kept,
      constants: <T>(node: AnyNode, make: () => T) => {
        if (!this.constants.has(node.name)) this.constants.set(node.name, make());
        return this.constants.get(node.name) as T;
      },
      affineForward: (node, x) => this.affineForward(node as AffineNode, x),
      affineGradient: (node, R) => {
        const dx = inputSized(node, `the gradient at "${node.name}"`);
        this.affineTranspose(node as AffineNode, R, dx, 'w');
        return dx;
      },
    };
    // Fail before computing anything if the input and activations alone cannot fit.
    this.arena.ensure(this.arena.mark() + inputAndActivationBytes(graph, batch), `a batch of ${batch} through "${graph.input.name}" with its activations`);
    // Relevance slots first: a batch too large for them fails here, before any computing.
    this.planRelevance();
    const x = this.buffer(input.length, 'the input');
    this.arena.f32(x.ptr, x.n).set(input);
    this.values.set(graph.input.name, x);
    this.forward();
    this.scratchBase = this.arena.mark();
  }

  /** Allocates n floats from the arena (activations, slots, or the current node's scratch). */
  buffer(n: number, what: string): Buf {
    return { ptr: this.arena.alloc(n * 4, what), n };
  }

  private value(name: string): Buf {
    return this.values.get(name)!;
  }

  private forward(): void {
    const { graph, batch } = this;
    for (const node of graph.upstream(graph.logitsName)) {
      // A ReLU whose convolution applied it already shares the convolution's buffer.
      const out = this.fusedRelu.has(node.name) ? this.value(node.inputs[0]) : opOf(node).wasm.forward(node, node.inputs.map((src) => this.value(src)), this.context);
      this.values.set(node.name, { ptr: out.ptr, n: batch * elements(graph.shape(node.name)) });
    }
  }

  /**
   * A Conv2d or Linear node's forward. A Conv read only by a ReLU writes the ReLU's output directly;
   * both names share it, unless the run keeps z for the rules: z then costs an activation's memory
   * and the ReLU a pass over it, where computing z again cost a convolution per layer (ResNet-50's
   * epsilon-gamma-box explanation: 6.0x a forward before, 5.4x with z kept, measured). A Linear keeps
   * its z (a few thousand values): the epsilon rule reads it instead of computing it again, which for
   * VGG's first dense layer means reading 400 MB of weights once less.
   */
  private affineForward(node: AffineNode, x: Buf): Buf {
    const { graph } = this;
    const readers = graph.consumers.get(node.name) ?? [];
    const fuse = !this.keepZ && node.op === 'Conv2d' && readers.length === 1 && readers[0].op === 'ReLU' && node.name !== graph.logitsName;
    const out = this.buffer(this.batch * elements(graph.shape(node.name)), `the output of "${node.name}"`);
    // A Winograd U made for this call (a layer that does not keep one) goes with its scratch.
    const top = this.arena.mark();
    this.affine(node, x, out, 'w', node.bias ? 'w' : null, fuse);
    this.arena.reset(top);
    this.nodeU.clear();
    if (fuse) this.fusedRelu.add(readers[0].name);
    else this.preActivation.add(node.name);
    return out;
  }

  /**
   * Plans a relevance slot for every value the backward pass reaches, walking the nodes in the order
   * the traversal will: a slot is taken when relevance first arrives at a value and given back once
   * its node has passed it on, so slots of dead values are reused by later ones of the same size.
   */
  private planRelevance(): void {
    const { graph, batch } = this;
    const nodes = graph.upstream(graph.logitsName);
    const free = new Map<number, Slot[]>();
    const take = (name: string) => {
      if (this.slots.has(name)) return;
      const n = batch * elements(graph.shape(name));
      let slot = free.get(n)?.pop();
      if (!slot) {
        slot = { buf: this.buffer(n, `the relevance of "${name}"`) };
        this.slotAt.set(slot.buf.ptr, slot);
      }
      this.slots.set(name, slot);
    };
    take(graph.logitsName);
    for (let i = nodes.length - 1; i >= 0; i--) {
      const node = nodes[i];
      for (const src of node.inputs) take(src);
      const slot = this.slots.get(node.name);
      if (slot) {
        const n = slot.buf.n;
        if (!free.has(n)) free.set(n, []);
        free.get(n)!.push(slot);
      }
    }
  }

  /** out = t(W) x + t'(b) (ReLU), through an epilogue where `fuses` says the node's pass applies one. */
  affine(node: AffineNode, x: Buf, out: Buf, w: Transform, b: Transform | null, relu = false, epilogue = NO_EPILOGUE): void {
    const { k, batch } = this;
    const up = this.weights.get(node.name)!;
    const tw = transformCode(w);
    const tb = b === null || !node.bias ? { code: -1, gamma: 0 } : transformCode(b);
    // A deferred input is computed first, so what its convolution keeps in the node's scratch (a
    // Winograd U) lies below this call's scratch, which is released after it.
    const xPtr = x.ptr;
    if (node.op === 'Linear') {
      const parts = this.partsFor(batch * node.inFeatures * node.outFeatures);
      this.engine.parallel('linear_forward', [xPtr, up.weight, up.bias, out.ptr, batch, node.inFeatures, node.outFeatures, tw.code, tw.gamma, tb.code, tb.gamma, relu ? 1 : 0], parts);
      return;
    }
    for (const part of this.parts(node)) {
      const geom = geometryBlock(this.arena, this.graph, part, node, tw, tb, relu, shifted(epilogue, part.y));
      const bias = tb.code >= 0 ? up.bias + part.b : 0;
      const parts = this.partsFor(this.macs(node, part));
      // A U made for this node stays (below the mark) for its other passes; the scratch goes after the call.
      const [u, ready] = isDepthwise(node) ? [0, 0] : this.winogradU(node, part, up, tw, geom, false, parts);
      const mark = this.arena.mark();
      if (isDepthwise(node)) {
        const scratch = this.arena.alloc(k.depthwise_scratch(geom) * parts, `the convolution scratch of "${node.name}"`);
        this.engine.parallel('depthwise_forward', [geom, xPtr, up.weight, bias, out.ptr, scratch], parts);
      } else {
        const scratch = this.arena.alloc(k.conv2d_scratch(geom) * parts, `the convolution scratch of "${node.name}"`);
        this.engine.parallel('conv2d_forward', [geom, xPtr + part.x, up.weight + part.w, bias, out.ptr + part.y, scratch, u, ready], parts);
      }
      this.arena.reset(mark);
    }
  }

  /** Multiply-adds of one part of a convolution's pass (either direction: the same). */
  private macs(node: Conv2dNode, part: ConvPart): number {
    const [, ho, wo] = this.graph.shape(node.name);
    return part.batch * part.cout * (isDepthwise(node) ? 1 : part.cin) * node.kernel[0] * node.kernel[1] * ho * wo;
  }

  /**
   * How many parts a pass of `macs` multiply-adds runs in: all the run's threads, unless it is too
   * small to repay the fork-join (2.4 us a job while the threads poll, against tens of microseconds of
   * work at 2^17 multiply-adds, a depthwise layer's 1-2 GMAC/s). At 2^20 MobileNetV2's depthwise
   * layers ran on one thread, 25 of the 83 ms of a 2-thread explanation: 1.30x -> 1.48-1.65x at 2^17.
   */
  private partsFor(macs: number): number {
    return this.threads > 1 && macs >= MIN_THREADED_MACS ? this.threads : 1;
  }

  private parts(node: Conv2dNode): ConvPart[] {
    return convParts(node, this.batch, this.graph.shape(node.inputs[0]), this.graph.shape(node.name));
  }

  /**
   * The U a Winograd pass of this geometry reads, and whether it is filled: the stored
   * one for the plain weights, else the node's for this transform, taken from the node's scratch (above
   * the call's own, so it outlives the call) and filled by the first pass that needs it. A z-plus node
   * then transforms w+ once for its forward and transposed passes.
   */
  private winogradU(node: Conv2dNode, part: ConvPart, up: Uploaded, tw: Code, geom: number, transposed: boolean, parts: number): [number, number] {
    if (!this.k.conv2d_uses_winograd(geom, transposed ? 1 : 0)) return [0, 0];
    if (tw.code === 0 && up.winograd) return [up.winograd, 1];
    const key = `${node.name} ${part.group} ${tw.code} ${tw.gamma}`;
    const kept = this.nodeU.get(key);
    if (kept !== undefined) return [kept, 1];
    const u = this.arena.alloc(this.k.winograd_weights_size(part.cin, part.cout) * 4, `the Winograd weights of "${node.name}"`);
    this.nodeU.set(key, u);
    if (parts === 1) return [u, 0];
    // The parts of a threaded pass all read U: it is made first, by the same transform the pass would use.
    this.engine.parallel('winograd_weights_transformed', [up.weight + part.w, part.cin, part.cout, tw.code, tw.gamma, u], parts);
    return [u, 1];
  }

  /**
   * Whether the node's convolution (forward, or `transposed`) with this weight transform applies an
   * epilogue: then a rule's divide (forward) or product with x (transposed) runs inside it.
   */
  fuses(node: AffineNode, w: Transform, transposed: boolean): boolean {
    if (node.op !== 'Conv2d') return false;
    if (isDepthwise(node)) return true;
    const mark = this.arena.mark();
    const fuses = this.k.conv2d_fuses(geometryBlock(this.arena, this.graph, this.parts(node)[0], node, transformCode(w), NO_BIAS, false), transposed ? 1 : 0) !== 0;
    this.arena.reset(mark);
    return fuses;
  }

  /** out = t(W)^T s, through an epilogue where `fuses` says so. */
  affineTranspose(node: AffineNode, s: Buf, out: Buf, w: Transform, epilogue = NO_EPILOGUE): void {
    const { k, batch } = this;
    const up = this.weights.get(node.name)!;
    const tw = transformCode(w);
    // s is usually a deferred quotient, computed by the node's forward convolution: first, as in affine().
    const sPtr = s.ptr;
    if (node.op === 'Linear') {
      const parts = this.partsFor(batch * node.inFeatures * node.outFeatures);
      this.engine.parallel('linear_transpose', [sPtr, up.weight, out.ptr, batch, node.inFeatures, node.outFeatures, tw.code, tw.gamma], parts);
      return;
    }
    for (const part of this.parts(node)) {
      const geom = geometryBlock(this.arena, this.graph, part, node, tw, NO_BIAS, false, shifted(epilogue, part.x));
      const parts = this.partsFor(this.macs(node, part));
      const [u, ready] = isDepthwise(node) ? [0, 0] : this.winogradU(node, part, up, tw, geom, true, parts);
      const mark = this.arena.mark();
      if (isDepthwise(node)) {
        const scratch = this.arena.alloc(k.depthwise_scratch(geom) * parts, `the convolution scratch of "${node.name}"`);
        this.engine.parallel('depthwise_transpose', [geom, sPtr, up.weight, out.ptr, scratch], parts);
      } else {
        const scratch = this.arena.alloc(k.conv2d_scratch(geom) * parts, `the convolution scratch of "${node.name}"`);
        this.engine.parallel('conv2d_transpose', [geom, sPtr + part.y, up.weight + part.w, out.ptr + part.x, scratch, u, ready], parts);
      }
      this.arena.reset(mark);
    }
  }

  // --- Session --------------------------------------------------------------------------------------

  logits(): Float32Array {
    const v = this.value(this.graph.logitsName);
    return Float32Array.from(this.arena.f32(v.ptr, v.n));
  }

  start(values: Float64Array): Buf {
    return this.math.fromHost(values);
  }

  accumulate(names: readonly string[], rs: readonly Buf[], spent?: Buf): void {
    if (names.length === 2 && this.splitSum(names, rs)) return;
    names.forEach((name, k) => this.accumulateOne(name, rs[k], spent));
  }

  /**
   * Norm's split of a sum over its two inputs, x_i * (R / stab(z)), in one pass that reads R and z once
   * and writes both inputs' relevance (or adds it): three passes over memory fewer than dividing, then
   * multiplying twice. Residual sums are where explanations of ResNets move the most relevance.
   */
  private splitSum(names: readonly string[], rs: readonly Buf[]): boolean {
    const split = names[0] === names[1] ? null : this.lowering.sumSplit(rs);
    if (!split) return false;
    const [slot1, slot2] = names.map((name) => this.slotOf(name, split.n));
    const [acc1, acc2] = names.map((name) => this.filled.has(name));
    names.forEach((name) => this.filled.add(name));
    this.k.split_sum(split.R.ptr, split.z.ptr, split.eps, split.a1.ptr, slot1.ptr, acc1 ? 1 : 0, split.a2.ptr, slot2.ptr, acc2 ? 1 : 0, split.n);
    return true;
  }

  private slotOf(name: string, n: number): Buf {
    const slot = this.slots.get(name)?.buf;
    if (!slot) return fail('BAD_GRAPH', `no relevance slot planned for "${name}"`);
    if (n !== slot.n) return fail('BAD_GRAPH', `relevance of ${n} values for "${name}", which has ${slot.n}`);
    return slot;
  }

  private accumulateOne(name: string, r: Buf, spent?: Buf): void {
    const slot = this.slotOf(name, r.n);
    const first = !this.filled.has(name);
    this.filled.add(name);
    if (this.lowering.store(r, slot, !first)) {
      // A rule's last step was computed where it lands.
    } else if (first && r === spent && !this.handedOver) {
      this.handOver(spent, slot);
    } else if (first) {
      // memory.copy inside wasm: no typed-array views to make (profiled at 8.6 ms an explanation of
      // resnet50-imagenet, against 12 ms for set() between views).
      this.k.copy(r.ptr, slot.ptr, slot.n);
    } else {
      this.k.binary(BINARY.add, slot.ptr, r.ptr, slot.ptr, slot.n);
    }
  }

  /**
   * The spent node's slot becomes the receiving value's, and the receiver's planned slot takes the spent
   * one's place in the plan: the two are the same size and each is free when the plan gives it out again.
   */
  private handOver(spent: Buf, slot: Buf): void {
    const [a, b] = [this.slotAt.get(spent.ptr)!, this.slotAt.get(slot.ptr)!];
    [a.buf, b.buf] = [b.buf, a.buf];
    this.slotAt.set(a.buf.ptr, a);
    this.slotAt.set(b.buf.ptr, b);
    this.handedOver = true;
  }

  collected(name: string): Buf | undefined {
    return this.filled.has(name) ? this.slots.get(name)!.buf : undefined;
  }

  endNode(): void {
    this.arena.reset(this.scratchBase);
    this.handedOver = false;
    this.nodeU.clear();
  }

  sumPerSample(t: Buf): number[] {
    const n = t.n / this.batch;
    return Array.from({ length: this.batch }, (_, b) => this.k.sum(t.ptr + b * n * 4, n));
  }

  toFloat32(t: Buf): Float32Array {
    return Float32Array.from(this.arena.f32(t.ptr, t.n));
  }

  release(): void {
    this.onRelease();
  }

  gradient(node: GraphNode, R: Buf): Buf[] {
    return opOf(node).wasm.gradient(node, R, this.context);
  }

  affineLayer(node: GraphNode, options: BackwardOptions): AffineLayer<Buf> {
    const { graph, batch } = this;
    const inputShape = graph.shape(node.inputs[0]);
    if (node.op !== 'Conv2d' && node.op !== 'Linear') {
      const maps = opOf(node).wasm.affine;
      if (!maps) return fail('RULE_NOT_APPLICABLE', `node "${node.name}" (${node.op}) has no weights for an affine rule`);
      const x = this.value(node.inputs[0]);
      const inputRange = node.inputs[0] === graph.input.name ? options.inputRange : undefined;
      return { name: node.name, math: this.math, x, xNonNegative: graph.nonNegative.has(node.inputs[0]), batch, inputShape, inputRange, ...maps(node, this.context) };
    }
    const outN = batch * elements(graph.shape(node.name));
    const inN = batch * elements(inputShape);
    return {
      name: node.name,
      math: this.math,
      x: this.value(node.inputs[0]),
      xNonNegative: graph.nonNegative.has(node.inputs[0]),
      batch,
      inputShape,
      inputRange: node.inputs[0] === graph.input.name ? options.inputRange : undefined,
      apply: (x, w, b) => {
        // The layer itself on its own input: the forward pass stored that z already.
        const plainBias = node.bias ? b === 'w' : b === null || b === 'w';
        if (w === 'w' && plainBias && x === this.value(node.inputs[0]) && this.preActivation.has(node.name)) return this.value(node.name);
        return this.lowering.applied(this.buffer(outN, `a rule's output at "${node.name}"`).ptr, outN, node, x, w, b);
      },
      transpose: (s, w) => this.lowering.transposed(this.buffer(inN, `a rule's transpose at "${node.name}"`).ptr, inN, node, s, w),
    };
  }

  linearMap(node: GraphNode): LinearMap<Buf> {
    const transpose = opOf(node).wasm.transpose;
    if (!transpose) return fail('RULE_NOT_APPLICABLE', `norm applies to Add and average pools, not to node "${node.name}" (${node.op})`);
    const inputs = node.inputs.map((src) => this.value(src));
    return { name: node.name, math: this.math, inputs, z: this.value(node.name), transpose: (s) => transpose(node, s, this.context) };
  }
}
