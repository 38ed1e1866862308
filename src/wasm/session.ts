/**
 * One run of the wasm engine: the forward interpreter over the op registry, the activations it keeps,
 * and what the shared backward traversal (src/propagation/) asks of a session, answered through the
 * op modules, the convolution service (convolutions.ts) and the relevance slots (slots.ts).
 */
import { fail } from '../errors.js';
import type { BackwardOptions, Session } from '../propagation/types.js';
import { size, type Graph } from '../graph/graph.js';
import type { AffineNode, GraphNode } from '../graph/nodes.js';
import type { AffineLayer, LinearMap, Arithmetic } from '../rules/types.js';
import { opOf, type Buf, type WasmContext } from '../ops/index.js';
import type { AffineMaps, AnyNode } from '../ops/op.js';
import type { Arena } from './arena.js';
import type { ConvolutionRun } from './convolution-run.js';
import { WasmConvolutions } from './convolutions.js';
import { inputAndActivationBytes } from './footprint.js';
import type { KernelExports } from './load.js';
import { wasmArithmetic } from './arithmetic.js';
import { Lowering } from './lowering.js';
import { RelevanceSlots } from './slots.js';

/**
 * The ReLU a convolution can apply as it writes its output (a ReLU6 too: `top`, what it clamps to), or
 * a residual sum (a plain ReLU): its only reader, unless the node gives the logits.
 */
export function reluAfter(graph: Graph, node: GraphNode): { relu: GraphNode; top: number } | null {
  const readers = graph.consumers.get(node.name) ?? [];
  const op = opOf(node);
  if (readers.length !== 1 || node.name === graph.logitsName || !(op.role === 'conv' || op.writesRelu)) return null;
  const top = opOf(readers[0]).convEpilogue?.(readers[0]) ?? null;
  return top === null || (op.writesRelu && top !== Infinity) ? null : { relu: readers[0], top };
}

export class WasmSession implements Session<Buf> {
  readonly math: Arithmetic<Buf>;
  private readonly lowering: Lowering;
  private readonly convolutions: WasmConvolutions;
  private readonly slots: RelevanceSlots;
  private readonly k: KernelExports;
  private readonly arena: Arena;
  private readonly values = new Map<string, Buf>();
  /** What nodes' forward passes keep for their backward passes (max-pool winners). */
  private readonly kept = new Map<string, number>();
  /** Per-node constants in wasm memory (BatchNorm's scale and shift), made in the forward pass. */
  private readonly constants = new Map<string, unknown>();
  /** ReLUs the op before them applied as it wrote its output (they share its buffer). */
  private readonly appliedBefore = new Set<string>();
  /** Ops that applied the ReLU after them: their buffer holds the ReLU's output, not their own value. */
  private readonly reluWritten = new Set<string>();
  /** Conv/Linear nodes whose stored value is their z = W x + b (no epilogue applied to it). */
  private readonly preActivation = new Set<string>();
  private readonly scratchBase: number;
  /** What op modules see of this session. */
  private readonly context: WasmContext;

  constructor(
    run: ConvolutionRun & { readonly graph: Graph },
    input: Float32Array,
    /** The nodes that keep their own value (a Conv's z, a sum) rather than writing the ReLU after them in its place. */
    private readonly keepZ: ReadonlySet<string>,
    private readonly onRelease: () => void,
  ) {
    const { graph, batch } = run;
    this.graph = graph;
    this.batch = batch;
    this.k = run.k;
    this.arena = run.arena;
    this.convolutions = new WasmConvolutions(run);
    this.lowering = new Lowering(this.convolutions);
    this.math = wasmArithmetic(this.convolutions, this.lowering);
    const elementsOf = (name: string) => batch * size(graph.shape(name));
    const inputSized = (node: AnyNode, what: string) => this.buffer(elementsOf(node.inputs[0]), what);
    this.context = {
      graph,
      batch,
      k: this.k,
      arena: this.arena,
      elementwise: this.convolutions.elementwise,
      value: (name) => this.value(name),
      output: (node) => this.buffer(elementsOf(node.name), `the output of "${node.name}"`),
      inputSized,
      sized: (name, what) => this.buffer(elementsOf(name), what),
      kept: this.kept,
      constants: <T>(node: AnyNode, make: () => T) => {
        if (!this.constants.has(node.name)) this.constants.set(node.name, make());
        return this.constants.get(node.name) as T;
      },
      reluInPlace: (node) => this.reluWrittenBy(node as GraphNode) !== null,
      affineForward: (node, x) => this.affineForward(node as AffineNode, x),
      affineGradient: (node, R) => {
        const dx = inputSized(node, `the gradient at "${node.name}"`);
        this.convolutions.affineTranspose(node as AffineNode, R, dx, 'w');
        return dx;
      },
      weightedMaps: (node) => this.weightedMaps(node as AffineNode),
      products: (...args) => this.convolutions.products(...args),
    };
    // Fail before computing anything if the input and activations alone cannot fit.
    this.arena.ensure(this.arena.mark() + inputAndActivationBytes(graph, batch), `a batch of ${batch} through "${graph.input.name}" with its activations`);
    // Relevance slots first: a batch too large for them fails here, before any computing.
    this.slots = new RelevanceSlots(graph, batch, (n, what) => this.buffer(n, what), this.k, this.convolutions.elementwise, this.lowering);
    const x = this.buffer(input.length, 'the input');
    this.arena.f32(x.ptr, x.n).set(input);
    this.values.set(graph.input.name, x);
    this.forward();
    this.scratchBase = this.arena.mark();
  }

  readonly graph: Graph;
  readonly batch: number;

  /** Allocates n floats from the arena (activations, slots, or the current node's scratch). */
  private buffer(n: number, what: string): Buf {
    return { ptr: this.arena.alloc(n * 4, what), n };
  }

  private value(name: string): Buf {
    return this.values.get(name)!;
  }

  private forward(): void {
    const { graph, batch } = this;
    for (const node of graph.upstream(graph.logitsName)) {
      // A ReLU the op before it applied shares that op's buffer.
      const out = this.appliedBefore.has(node.name) ? this.value(node.inputs[0]) : opOf(node).wasm.forward(node, node.inputs.map((src) => this.value(src)), this.context);
      this.values.set(node.name, { ptr: out.ptr, n: batch * size(graph.shape(node.name)) });
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
    const relu = this.reluWrittenBy(node);
    const out = this.buffer(this.batch * size(this.graph.shape(node.name)), `the output of "${node.name}"`);
    // A Winograd U made for this call (a layer that does not keep one) goes with its scratch.
    const mark = this.arena.mark();
    this.convolutions.affine(node, x, out, 'w', node.bias ? 'w' : null, relu);
    this.arena.reset(mark);
    this.convolutions.endNode();
    if (relu === null) this.preActivation.add(node.name);
    return out;
  }

  /**
   * Whether the node writes the ReLU after it in place of its own value (which the run then does not
   * keep), a convolution's z or a residual sum's: the top of that ReLU (Infinity; 6 for ReLU6), or
   * null. Norm reads a sum again from its inputs (ownValue): a ResNet-50 explanation keeps 21 MB less
   * and makes one pass fewer per block.
   */
  private reluWrittenBy(node: GraphNode): number | null {
    const after = this.keepZ.has(node.name) ? null : reluAfter(this.graph, node);
    if (!after) return null;
    this.appliedBefore.add(after.relu.name);
    this.reluWritten.add(node.name);
    return after.top;
  }

  /** The node's own value: kept, or (a sum that wrote its ReLU in place) its inputs' sum, computed when read. */
  private ownValue(node: GraphNode, inputs: readonly Buf[]): Buf {
    if (!this.reluWritten.has(node.name)) return this.value(node.name);
    const n = this.value(node.name).n;
    return this.lowering.inputSum(this.buffer(n, `the sum at "${node.name}"`).ptr, inputs);
  }

  /** A Conv2d's or Linear's maps for rules, deferred through the lowering; z itself is the stored value. */
  private weightedMaps(node: AffineNode): AffineMaps<Buf> {
    const { graph, batch } = this;
    const outN = batch * size(graph.shape(node.name));
    const inN = batch * size(graph.shape(node.inputs[0]));
    return {
      apply: (x, w, b) => {
        // The layer itself on its own input: the forward pass stored that z already.
        const plainBias = node.bias ? b === 'w' : b === null || b === 'w';
        if (w === 'w' && plainBias && x === this.value(node.inputs[0]) && this.preActivation.has(node.name)) return this.value(node.name);
        return this.lowering.applied(this.buffer(outN, `a rule's output at "${node.name}"`).ptr, outN, node, x, w, b);
      },
      transpose: (s, w) => this.lowering.transposed(this.buffer(inN, `a rule's transpose at "${node.name}"`).ptr, inN, node, s, w),
    };
  }

  // --- Session --------------------------------------------------------------------------------------

  logits(): Float32Array {
    const v = this.value(this.graph.logitsName);
    return Float32Array.from(this.arena.f32(v.ptr, v.n));
  }

  activation(name: string): Float32Array {
    if (this.reluWritten.has(name)) fail('BAD_OPTION', `the output of "${name}" was not kept (its ReLU was applied in place): run with it kept`);
    const v = this.values.get(name);
    if (!v) return fail('BAD_OPTION', `no node "${name}" feeds the logits`);
    return this.toFloat32(v);
  }

  start(values: Float64Array): Buf {
    return this.math.fromHost(values);
  }

  accumulate(names: readonly string[], rs: readonly Buf[], spent?: Buf): void {
    this.slots.accumulate(names, rs, spent);
  }

  collected(name: string): Buf | undefined {
    return this.slots.collected(name);
  }

  endNode(): void {
    this.arena.reset(this.scratchBase);
    this.slots.endNode();
    this.convolutions.endNode();
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
    const maps = opOf(node).wasm.affine;
    if (!maps) return fail('RULE_NOT_APPLICABLE', `node "${node.name}" (${node.op}) has no weights for an affine rule`);
    const inputRange = node.inputs[0] === graph.input.name ? options.inputRange : undefined;
    const x = this.value(node.inputs[0]);
    return { name: node.name, math: this.math, x, xNonNegative: graph.nonNegative.has(node.inputs[0]), batch, inputShape: graph.shape(node.inputs[0]), inputRange, ...maps(node, this.context) };
  }

  jacobianMap(node: GraphNode, held: boolean): LinearMap<Buf> {
    const op = opOf(node);
    const pass = held ? op.wasm.linearized : op.wasm.gradient;
    if (!pass) return fail('RULE_NOT_APPLICABLE', `node "${node.name}" (${node.op}) has nothing its rule can hold constant`);
    const inputs = node.inputs.map((src) => this.value(src));
    return { name: node.name, math: this.math, inputs, z: this.ownValue(node, inputs), transpose: (s) => pass(node, s, this.context) };
  }

  linearMap(node: GraphNode): LinearMap<Buf> {
    const transpose = opOf(node).wasm.transpose;
    if (!transpose) return fail('RULE_NOT_APPLICABLE', `norm applies to Add and average pools, not to node "${node.name}" (${node.op})`);
    const inputs = node.inputs.map((src) => this.value(src));
    return { name: node.name, math: this.math, inputs, z: this.ownValue(node, inputs), transpose: (s) => transpose(node, s, this.context) };
  }
}
