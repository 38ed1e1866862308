/**
 * An op is one module: its shape inference and validation, how it treats signs, its LRP role, and its
 * forward and backward passes on both engines. The graph, the composites and both engines loop over
 * the registry (src/ops/index.ts) instead of switching on op names; the importers map their formats'
 * operators onto these.
 */
import type { AnyNode, Shape } from '../graph/node.js';
import type { Transform, Vec } from '../rules/types.js';
import type { Arena } from '../wasm/arena.js';
import type { KernelExports } from '../wasm/load.js';

/** A buffer of `n` float32 values in wasm memory. */
export interface Buf {
  readonly ptr: number;
  readonly n: number;
}

/**
 * The composite rule a node gets by default: the affine rules of convolutions or dense layers, Norm
 * for sums and average pools, BatchNorm's (pass, unless folded), winner-take-all, the gradient, or pass.
 */
export type Role = 'conv' | 'linear' | 'sum' | 'pool' | 'batchnorm' | 'wta' | 'gradient' | 'pass';

/** What op modules see of the graph a run is on: every value's per-sample shape. */
export interface Shapes {
  shape(name: string): Shape;
}

/** What a node's reference passes see of a run: float64 values, batch-major. */
export interface ReferenceContext {
  readonly graph: Shapes;
  readonly batch: number;
  /** A value of the forward pass. */
  value(name: string): Vec;
  /** What a node's forward keeps for its backward pass (max-pool winners). */
  readonly kept: Map<string, Int32Array>;
  /** A Conv2d or Linear node's weights with a folded BatchNorm applied (made once a run). */
  weight(node: AnyNode): Float32Array;
}

/** The kernels of passes over whole activations: each takes its share of the values as (part, parts). */
export type ElementwiseKernel = 'binary' | 'relu' | 'split_sum' | 'maxpool_forward' | 'activation';
/** Runs `kernel(...args, part, parts)` over `values` values, split across a run's threads when large (src/wasm/elementwise-run.ts). */
export type Elementwise = (kernel: ElementwiseKernel, args: number[], values: number) => void;

/** What a node's wasm passes see of a run. */
export interface WasmContext {
  readonly graph: Shapes;
  readonly batch: number;
  readonly k: KernelExports;
  readonly arena: Arena;
  /** Runs a pass over whole activations, split across the run's threads when it is large. */
  readonly elementwise: Elementwise;
  value(name: string): Buf;
  /** A buffer of the node's output size, for its forward value. */
  output(node: AnyNode): Buf;
  /** A buffer of the size of the node's first input, for what its backward pass returns. */
  inputSized(node: AnyNode, what: string): Buf;
  /** A buffer of the size of the named value. */
  sized(name: string, what: string): Buf;
  /**
   * Whether the node's forward is to apply the ReLU that reads it as it writes (its only reader, and
   * the run keeps no use of the node's own value): the two then share one buffer. Asked once, by ops
   * with `writesRelu`.
   */
  reluInPlace(node: AnyNode): boolean;
  /** What a node's forward keeps for its backward pass (the address of max-pool winners). */
  readonly kept: Map<string, number>;
  /** Per-session constants of a node, made once (BatchNorm's scale and shift in wasm memory). */
  constants<T>(node: AnyNode, make: () => T): T;
  /**
   * The engine's convolution service for a Conv2d or Linear node: its forward (applying the op after
   * it as an epilogue where that op has a `convEpilogue` and the run allows), its plain backward-data
   * pass W^T R, and the maps rules apply (deferred, so a rule's next step can run inside them).
   */
  affineForward(node: AnyNode, x: Buf): Buf;
  affineGradient(node: AnyNode, R: Buf): Buf;
  /**
   * out[t] = a[t] b[t] for `count` pairs of an m x k and a k x n matrix (addresses of row-major float32;
   * `leftT`, `rightT`: that factor's buffer holds each matrix transposed), on the engine's GEMM kernels.
   */
  products(a: number, b: number, out: number, count: number, m: number, k: number, n: number, leftT?: boolean, rightT?: boolean): void;
  weightedMaps(node: AnyNode): AffineMaps<Buf>;
}

export type { AnyNode } from '../graph/node.js';

/** t(W) x + t'(b) and t(W)^T s of a layer with weights, under a rule's transforms t and t'. */
export interface AffineMaps<T> {
  apply(x: T, w: Transform, b: Transform | null): T;
  transpose(s: T, w: Transform): T;
}

export interface OpDefinition<N extends AnyNode = AnyNode> {
  readonly type: N['op'];
  /** Inputs: exactly one, or two and more. */
  readonly arity: 1 | 'many';
  /** Output shape (per sample) from the input shapes; validates the node's parameters. */
  shape(node: N, ins: Shape[]): Shape;
  /**
   * 'always': never negative (ReLU, Softmax); 'keeps': non-negative where all its inputs are; else
   * unknown. A function decides per node (Clip is never negative when its minimum is not).
   */
  readonly sign?: 'always' | 'keeps' | ((node: N) => 'always' | 'keeps' | undefined);
  readonly role: Role;
  /**
   * An elementwise op a convolution before it can apply as it writes its output: the top of the ReLU
   * the kernels then clamp to (Infinity: a ReLU; 6: ReLU6), or null where this node cannot be.
   */
  readonly convEpilogue?: (node: N) => number | null;
  /** Its wasm forward can apply the ReLU after it as it writes, when WasmContext.reluInPlace says so (a residual sum). */
  readonly writesRelu?: true;
  /**
   * Which outputs an input's change reaches (src/wasm/incremental-forward.ts): 'elementwise', the same
   * positions (inputs of one channel position, as a gate's, broadcast over the plane); 'window', those
   * whose window (the node's kernel, stride, pads, dilation; one position at stride 1 where it has
   * only pads) holds a changed position; else every output.
   */
  readonly locality?: 'elementwise' | 'window';
  /** Which inputs the pass rule hands relevance to: all (the default), or only the first (a gated value, not its gate). */
  readonly passesTo?: 'all' | 'first';
  /**
   * Rule kinds that may apply besides the gradient: 'affine' (weights: the op gives `affine` maps),
   * 'norm', 'pass', 'jacobian' (a transformer rule through the op's gradient or `linearized` pass).
   */
  readonly accepts: readonly ('affine' | 'norm' | 'pass' | 'jacobian')[];
  readonly reference: {
    forward(node: N, xs: Vec[], c: ReferenceContext): Vec;
    gradient(node: N, R: Vec, c: ReferenceContext): Vec[];
    transpose?(node: N, s: Vec, c: ReferenceContext): Vec[];
    affine?(node: N, c: ReferenceContext): AffineMaps<Vec>;
    /** The gradient with what LRP holds constant held (LayerNorm's standard deviation). */
    linearized?(node: N, R: Vec, c: ReferenceContext): Vec[];
  };
  readonly wasm: {
    forward(node: N, xs: Buf[], c: WasmContext): Buf;
    gradient(node: N, R: Buf, c: WasmContext): Buf[];
    transpose?(node: N, s: Buf, c: WasmContext): Buf[];
    affine?(node: N, c: WasmContext): AffineMaps<Buf>;
    linearized?(node: N, R: Buf, c: WasmContext): Buf[];
  };
}

/** A definition for the node type N, checked against N's fields. */
export function defineOp<N extends AnyNode>(def: OpDefinition<N>): OpDefinition<N> {
  return def;
}

export { plane, where } from '../graph/node.js';

/** Constants copied into the engine's memory (a node's per-session parameters); returns their address. */
export function upload(c: WasmContext, values: ArrayLike<number>, what: string): number {
  const ptr = c.arena.alloc(values.length * 4, what);
  c.arena.f32(ptr, values.length).set(values);
  return ptr;
}

/** A buffer's values in the engine's memory, for passes written in TypeScript (a transformer's ops). */
export function view(c: WasmContext, b: Buf): Float32Array {
  return c.arena.f32(b.ptr, b.n);
}
