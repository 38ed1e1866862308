/**
 * A forward that follows a series of inputs, each a small change of the one before (a region-
 * perturbation curve fills one 8 x 8 patch a step): it keeps every node's output for the last input and
 * recomputes only the outputs the change reaches, as a box per node: through a window op (Conv2d, the
 * pools) the box grown by the window and divided by the stride, through an elementwise op the union of
 * its inputs' boxes, through any other op (a dense layer, a global pool) everything. A small box runs
 * the node's own kernels on a problem of its own: the input window it reads cut out (padded only where
 * it meets the edge of the map), the node run on it, its output put back. On ResNet-50 an 8 x 8 patch
 * reaches 0.34 of a forward's multiply-adds (bench/incremental-bound.ts).
 */
import type { Graph } from '../graph/graph.js';
import { size } from '../graph/graph.js';
import type { AffineNode, GraphNode } from '../graph/nodes.js';
import { opOf, type Buf, type WasmContext } from '../ops/index.js';
import type { AnyNode, Shapes } from '../ops/op.js';
import type { Pads, Shape } from '../graph/node.js';
import { fail } from '../errors.js';
import type { InputChange } from '../graph/input-change.js';
import type { Arena } from './arena.js';
import type { ConvolutionRun } from './convolution-run.js';
import { WasmConvolutions } from './convolutions.js';
import { elementwiseRun } from './elementwise-run.js';
import type { KernelExports } from './load.js';
import { reluAfter } from './session.js';

/** Rows [r0, r1) and columns [c0, c1) of a node's output plane that changed. */
type Box = readonly [number, number, number, number];
/** What changed of a value: a box of its plane, all of it, or nothing. */
type Change = Box | 'all' | null;

/**
 * A box at least this share of its plane runs as the whole node: a window op's kernels then beat the
 * cut-out copies and smaller GEMMs; an elementwise op's pass over its plane costs less than cutting its
 * inputs out and putting its box back.
 */
const WHOLE_SHARE = { window: 0.75, elementwise: 0.25 };

/** A node with a window: Conv2d, the pools, and Pad (a window of one position). */
interface WindowNode extends AnyNode {
  kernel?: [number, number];
  stride?: [number, number];
  pads: Pads;
  dilation?: [number, number];
}

export class IncrementalForward {
  private readonly graph: Graph;
  private readonly k: KernelExports;
  private readonly arena: Arena;
  private readonly nodes: GraphNode[];
  private readonly values = new Map<string, Buf>();
  private readonly constants = new Map<string, unknown>();
  /**
   * ReLUs the convolution or sum before them applies as it writes (its only reader): they share its buffer and cost no
   * pass of their own (a step's ReLU passes over its boxes took 5 of 105 ms on ResNet-50).
   */
  private readonly appliedBefore = new Set<string>();
  /** Where each step's scratch starts: the kept values lie below. */
  private readonly base: number;

  constructor(
    private readonly run: ConvolutionRun & { readonly graph: Graph },
    input: Float32Array,
    private readonly onRelease: () => void,
  ) {
    if (run.batch !== 1 || run.threads !== 1) fail('BAD_OPTION', 'an incremental forward runs one image on one thread');
    this.graph = run.graph;
    this.k = run.k;
    this.arena = run.arena;
    this.nodes = this.graph.upstream(this.graph.logitsName);
    if (input.length !== size(this.graph.input.shape)) fail('BAD_INPUT', `an incremental forward takes one image of ${this.graph.input.shape.join(' x ')} values, got ${input.length}`);
    const x = this.buffer(input.length, 'the input');
    this.arena.f32(x.ptr, x.n).set(input);
    this.values.set(this.graph.input.name, x);
    const whole = this.context(this.graph, (node) => this.buffer(size(this.graph.shape(node.name)), `the output of "${node.name}"`));
    for (const node of this.nodes) {
      const after = reluAfter(this.graph, node);
      if (after) this.appliedBefore.add(after.relu.name);
      const out = this.appliedBefore.has(node.name) ? this.values.get(node.inputs[0])! : opOf(node).wasm.forward(node, node.inputs.map((i) => this.values.get(i)!), whole);
      this.values.set(node.name, out);
    }
    this.base = this.arena.mark();
  }

  logits(): Float32Array {
    const v = this.values.get(this.graph.logitsName)!;
    return Float32Array.from(this.arena.f32(v.ptr, v.n));
  }

  /** Moves to the next input of the series, recomputing what its change from the last one reaches; its logits. */
  next({ box, values }: InputChange): Float32Array {
    const [r0, r1, c0, c1] = box;
    if (r1 <= r0 || c1 <= c0) return this.logits();
    const [C, H, W] = this.graph.input.shape;
    if (!box.every(Number.isInteger) || !(0 <= r0 && r1 <= H && 0 <= c0 && c1 <= W) || values.length !== C * (r1 - r0) * (c1 - c0)) {
      fail('BAD_INPUT', `a change of the input must be a box within its ${H} x ${W} and ${C} x rows x columns values; got rows ${r0}-${r1}, columns ${c0}-${c1} and ${values.length} values`);
    }
    const x = this.values.get(this.graph.input.name)!;
    const top = this.arena.mark();
    const staged = this.buffer(values.length, 'a change of the input');
    this.arena.f32(staged.ptr, staged.n).set(values);
    this.k.copy_window(staged.ptr, r1 - r0, c1 - c0, 0, 0, x.ptr, H, W, r0, c0, C, r1 - r0, c1 - c0);
    this.arena.reset(top);
    const changes = new Map<string, Change>([[this.graph.input.name, box]]);
    for (const node of this.nodes) {
      const change = this.reach(node, changes);
      changes.set(node.name, change);
      if (!change || this.appliedBefore.has(node.name)) continue;
      const plane = this.graph.shape(node.name);
      const locality = opOf(node).locality;
      if (change === 'all' || !locality || area(change) >= WHOLE_SHARE[locality] * plane[1] * plane[2]) this.computeWhole(node);
      else this.computeBox(node, change);
      this.arena.reset(this.base);
    }
    return this.logits();
  }

  release(): void {
    this.onRelease();
  }

  /** What of the node's output its inputs' changes reach. */
  private reach(node: GraphNode, changes: Map<string, Change>): Change {
    const ins = node.inputs.map((i) => changes.get(i) ?? null);
    if (ins.every((c) => c === null)) return null;
    const out = this.graph.shape(node.name);
    const locality = opOf(node).locality;
    if (!locality || out.length !== 3 || ins.includes('all')) return 'all';
    if (locality === 'window') return windowReach(node as unknown as WindowNode, ins[0] as Box, out);
    // A changed input of another plane (a gate's per-channel factors) changes every output.
    if (node.inputs.some((i, k) => ins[k] !== null && !samePlane(this.graph.shape(i), out))) return 'all';
    const boxes = ins.filter((c): c is Box => c !== null);
    return [Math.min(...boxes.map((b) => b[0])), Math.max(...boxes.map((b) => b[1])), Math.min(...boxes.map((b) => b[2])), Math.max(...boxes.map((b) => b[3]))];
  }

  /** The node on its whole input, into its kept output. */
  private computeWhole(node: GraphNode): void {
    const kept = this.values.get(node.name)!;
    const out = opOf(node).wasm.forward(node, node.inputs.map((i) => this.values.get(i)!), this.context(this.graph, () => kept));
    // An op that returns its input (Identity, Flatten) shares its buffer: nothing to copy.
    if (out.ptr !== kept.ptr) this.k.copy(out.ptr, kept.ptr, kept.n);
  }

  /** The node on the window of its inputs that the box reads, the result put into the box of its output. */
  private computeBox(node: GraphNode, [r0, r1, c0, c1]: Box): void {
    const out = this.graph.shape(node.name);
    const [bh, bw] = [r1 - r0, c1 - c0];
    const shapes = new Map<string, Shape>([[node.name, [out[0], bh, bw]]]);
    let boxed: AnyNode | WindowNode = node;
    let inputs: Buf[];
    if (opOf(node).locality === 'window') {
      const w = node as unknown as WindowNode;
      const [C, H, W] = this.graph.shape(node.inputs[0]);
      const [[kh, kw], [sh, sw], [dh, dw]] = windowOf(w);
      const [rows, top, bottom] = windowSpan(r0, r1, kh, sh, w.pads[0], dh, H);
      const [cols, left, right] = windowSpan(c0, c1, kw, sw, w.pads[1], dw, W);
      boxed = { ...w, pads: [top, left, bottom, right] };
      shapes.set(node.inputs[0], [C, rows[1] - rows[0], cols[1] - cols[0]]);
      inputs = [this.cut(node.inputs[0], rows, cols)];
    } else {
      inputs = node.inputs.map((name) => {
        const s = this.graph.shape(name);
        if (!samePlane(s, out)) {
          shapes.set(name, s);
          return this.values.get(name)!;
        }
        shapes.set(name, [s[0], bh, bw]);
        return this.cut(name, [r0, r1], [c0, c1]);
      });
    }
    const boxShapes: Shapes = { shape: (name) => shapes.get(name) ?? fail('BAD_GRAPH', `no shape for "${name}" in the box of "${node.name}"`) };
    const result = opOf(node).wasm.forward(boxed as GraphNode, inputs, this.context(boxShapes, (n) => this.buffer(size(boxShapes.shape(n.name)), `the box of "${node.name}"`)));
    const kept = this.values.get(node.name)!;
    this.k.copy_window(result.ptr, bh, bw, 0, 0, kept.ptr, out[1], out[2], r0, c0, out[0], bh, bw);
  }

  /** Rows and columns of a value, every channel, in a buffer of their own. */
  private cut(name: string, [r0, r1]: readonly number[], [c0, c1]: readonly number[]): Buf {
    const [C, H, W] = this.graph.shape(name);
    const box = this.buffer(C * (r1 - r0) * (c1 - c0), `a box of "${name}"`);
    this.k.copy_window(this.values.get(name)!.ptr, H, W, r0, c0, box.ptr, r1 - r0, c1 - c0, 0, 0, C, r1 - r0, c1 - c0);
    return box;
  }

  private buffer(n: number, what: string): Buf {
    return { ptr: this.arena.alloc(n * 4, what), n };
  }

  /** What an op's forward sees: these shapes, its output where `output` says, one image on one thread. */
  private context(shapes: Shapes, output: (node: AnyNode) => Buf): WasmContext {
    const forwardOnly = (): never => fail('BAD_OPTION', 'an incremental forward computes values only');
    return {
      graph: shapes,
      batch: 1,
      k: this.k,
      arena: this.arena,
      elementwise: elementwiseRun(this.run),
      // As in the first forward: a ReLU after a sum is written by the sum, and skipped (appliedBefore).
      reluInPlace: (node) => reluAfter(this.graph, node as GraphNode) !== null,
      value: (name) => this.values.get(name)!,
      output,
      inputSized: forwardOnly,
      sized: forwardOnly,
      kept: new Map(),
      constants: <T>(node: AnyNode, make: () => T) => {
        if (!this.constants.has(node.name)) this.constants.set(node.name, make());
        return this.constants.get(node.name) as T;
      },
      affineForward: (node, x) => {
        const out = output(node);
        const top = this.arena.mark();
        new WasmConvolutions({ ...this.run, graph: shapes }).affine(node as AffineNode, x, out, 'w', (node as AffineNode).bias ? 'w' : null, reluAfter(this.graph, node as GraphNode)?.top ?? null);
        this.arena.reset(top);
        return out;
      },
      affineGradient: forwardOnly,
      products: (...args) => new WasmConvolutions({ ...this.run, graph: shapes }).products(...args),
      weightedMaps: forwardOnly,
    };
  }
}

/** Rows (or columns) of a window op's output whose windows hold one of the input's [a0, a1), within [0, limit). */
function windowReach(node: WindowNode, [r0, r1, c0, c1]: Box, [, ho, wo]: Shape): Change {
  const first = (a: number, k: number, s: number, p: number, d: number) => Math.max(0, Math.ceil((a - (k - 1) * d + p) / s));
  const last = (a: number, s: number, p: number, limit: number) => Math.min(limit, Math.floor((a - 1 + p) / s) + 1);
  const [[kh, kw], [sh, sw], [dh, dw]] = windowOf(node);
  const box: Box = [first(r0, kh, sh, node.pads[0], dh), last(r1, sh, node.pads[0], ho), first(c0, kw, sw, node.pads[1], dw), last(c1, sw, node.pads[1], wo)];
  // A strided window can step over every changed position.
  return box[1] > box[0] && box[3] > box[2] ? box : null;
}

/** Kernel, stride and dilation of a window node. */
const windowOf = (node: WindowNode) => [node.kernel ?? [1, 1], node.stride ?? [1, 1], node.dilation ?? [1, 1]] as const;

/**
 * The input rows [i0, i1) that outputs [o0, o1) of a window read, and the padding before and after them
 * where they reach past the map's edge (never past the node's own: windows fit the padded map).
 */
function windowSpan(o0: number, o1: number, k: number, s: number, padBefore: number, d: number, size: number): [[number, number], number, number] {
  const start = o0 * s - padBefore;
  const end = (o1 - 1) * s - padBefore + (k - 1) * d + 1;
  return [[Math.max(0, start), Math.min(size, end)], Math.max(0, -start), Math.max(0, end - size)];
}

const samePlane = (a: Shape, b: Shape) => a.length === 3 && a[1] === b[1] && a[2] === b[2];
const area = ([r0, r1, c0, c1]: Box) => (r1 - r0) * (c1 - c0);
