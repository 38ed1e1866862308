/**
 * One ONNX node as a converter sees it (OnnxOp): its attributes, its inputs as values of the image's
 * data flow or as constants, and the graph built so far (Reading).
 */
import type { AttributeProto, NodeProto } from 'onnx-buf';
import { fail } from '../../errors.js';
import type { GraphNode, Pads, Pair } from '../../graph/nodes.js';
import type { Shape } from '../../graph/shapes.js';
import type { Emitter } from '../emitter.js';
import type { Constant, TensorReader } from './tensors.js';

export type Attrs = Map<string, AttributeProto>;

export function attributes(n: NodeProto): Attrs {
  return new Map(n.attribute.map((a) => [a.name, a]));
}

export function intsAttr(attrs: Attrs, name: string): number[] | undefined {
  const a = attrs.get(name);
  if (!a) return undefined;
  return a.ints.map(Number);
}
export function intAttr(attrs: Attrs, name: string, fallback: number): number {
  const a = attrs.get(name);
  return a ? Number(a.i) : fallback;
}
export function floatAttr(attrs: Attrs, name: string, fallback: number): number {
  const a = attrs.get(name);
  return a ? a.f : fallback;
}
export function stringAttr(attrs: Attrs, name: string, fallback: string): string {
  const a = attrs.get(name);
  return a ? new TextDecoder().decode(a.s) : fallback;
}

export function pair(v: number[] | undefined, fallback: number, where: string, what: string): Pair {
  if (v === undefined) return [fallback, fallback];
  if (v.length !== 2) fail('UNSUPPORTED', `${where}: ${what} [${v}] is not 2-D; relprop reads 2-D images only`);
  return [v[0], v[1]];
}

/** ONNX pads [h_begin, w_begin, h_end, w_end] as [top, left, bottom, right]. */
export function pads4(v: number[] | undefined, where: string): Pads {
  if (v === undefined) return [0, 0, 0, 0];
  if (v.length !== 4) fail('UNSUPPORTED', `${where}: pads [${v}] are not those of a 2-D window`);
  return [v[0], v[1], v[2], v[3]];
}

export function nodeLabel(n: NodeProto, index: number): string {
  return `ONNX node ${n.name ? `"${n.name}"` : `#${index}`} (${n.opType})`;
}

/** What every node's conversion shares: the graph built so far and what is known of the ONNX graph. */
export interface Reading {
  readonly emitter: Emitter;
  readonly opset: number;
  readonly reader: TensorReader;
  /** Constant values (initializers and Constant nodes' outputs) by name. */
  readonly constants: Map<string, Constant>;
  /** ONNX value name -> the graph value (a node's name, or the input's) that holds it. */
  readonly alias: Map<string, string>;
  /** How many nodes (and graph outputs) read each value. */
  readonly readers: Map<string, number>;
  /**
   * Values whose graph shape is their whole ONNX shape (a batch of 1 among their axes: a transformer's
   * [T, 1, D] after PyTorch's attention moved the batch axis). Every other value's graph shape is its
   * ONNX shape after the batch axis, which leads it.
   */
  readonly whole: Set<string>;
  /** Values the reading made for others, by what and whose (`whole X`, `batched X`): each made once. */
  readonly made: Map<string, string>;
  /**
   * A graph name for a value the reading makes: `base`, unless a value of the file or a node already
   * emitted has it (a file relprop exported holds the names its own import made: `X:whole`).
   */
  fresh(base: string): string;
}

/** One ONNX node as its converter sees it: its inputs, attributes and the helpers that read them. */
export class OnnxOp {
  readonly where: string;
  readonly attrs: Attrs;
  readonly out: string;

  constructor(
    readonly n: NodeProto,
    index: number,
    readonly r: Reading,
  ) {
    this.where = nodeLabel(n, index);
    this.attrs = attributes(n);
    this.out = n.output[0];
  }

  get opset(): number {
    return this.r.opset;
  }

  emit(node: GraphNode): string {
    return this.r.emitter.add(node);
  }

  /** Whether the graph value `name` (an ONNX value of that name) has one reader. */
  readOnce = (name: string): boolean => this.r.readers.get(name) === 1;

  isConstant(i: number): boolean {
    return this.r.constants.has(this.n.input[i]);
  }

  /**
   * Input i, a value of the image's data flow, its batch axis first and left out of its graph shape (a
   * value held whole gets its leading 1 dropped), unless `asHeld`.
   */
  value(i: number, asHeld = false): string {
    const name = this.n.input[i];
    if (!name) fail('BAD_MODEL', `${this.where} lacks input ${i}`);
    if (this.r.constants.has(name)) fail('UNSUPPORTED', `${this.where}: input "${name}" is a constant where relprop expects the image's data flow`);
    const held = this.r.alias.get(name);
    if (held === undefined) fail('BAD_MODEL', `${this.where} reads "${name}", which no earlier node produces (nodes must be in topological order)`);
    if (asHeld || !this.r.whole.has(held)) return held;
    const s = this.shapeOf(held);
    if (s[0] !== 1 || s.length < 2) fail('UNSUPPORTED', `${this.where} reads "${name}" of shape [${s}] as a batch of [N, ...]; relprop reads it only where its batch axis comes first`);
    let batched = this.r.made.get(`batched ${held}`);
    if (batched === undefined) {
      batched = this.r.emitter.add({ op: 'Reshape', name: this.r.fresh(`${held}:batched`), inputs: [held], shape: s.slice(1) });
      this.r.made.set(`batched ${held}`, batched);
    }
    return batched;
  }

  /** Input i, a constant (undefined where the optional input is left out). */
  constant(i: number, what: string): Constant | undefined {
    const name = this.n.input[i];
    if (!name) return undefined;
    const c = this.r.constants.get(name);
    if (!c) fail('UNSUPPORTED', `${this.where}: ${what} "${name}" is computed by the graph; relprop needs it to be a constant (initializer)`);
    return c;
  }

  floats(i: number, what: string): Float32Array {
    const c = this.constant(i, what);
    if (!c?.floats) fail('BAD_MODEL', `${this.where}: ${what} must be a float32 tensor`);
    return c.floats;
  }

  shapeOf(name: string): Shape {
    return this.r.emitter.shape(name);
  }

  /** A value's shape as ONNX sees it (the batch of 1 included). */
  onnxShape(name: string): number[] {
    return this.r.whole.has(name) ? [...this.shapeOf(name)] : [1, ...this.shapeOf(name)];
  }

  /** ONNX's axis `axis` (negative from the end) of a value, as an axis of its graph shape (-1: the batch's). */
  graphAxis(name: string, axis: number): number {
    const rank = this.onnxShape(name).length;
    const a = axis < 0 ? axis + rank : axis;
    if (!Number.isInteger(a) || a < 0 || a >= rank) fail('BAD_MODEL', `${this.where}: axis ${axis} of a rank-${rank} value`);
    return this.r.whole.has(name) ? a : a - 1;
  }

  /** The value with its whole ONNX shape as its graph shape (a Reshape adding the batch of 1, made once). */
  whole(name: string): string {
    if (this.r.whole.has(name)) return name;
    let held = this.r.made.get(`whole ${name}`);
    if (held === undefined) {
      held = this.r.emitter.add({ op: 'Reshape', name: this.r.fresh(`${name}:whole`), inputs: [name], shape: this.onnxShape(name) });
      this.r.whole.add(held);
      this.r.made.set(`whole ${name}`, held);
    }
    return held;
  }

  /** Emits a node computed on whole ONNX shapes: its graph shape is its ONNX shape. */
  emitWhole(node: GraphNode): string {
    const name = this.emit(node);
    this.r.whole.add(name);
    return name;
  }

  /** Input i, a value of the data flow, with its whole ONNX shape as its graph shape. */
  wholeValue(i: number): string {
    return this.whole(this.value(i, true));
  }

  ints(name: string): number[] | undefined {
    return intsAttr(this.attrs, name);
  }
  int(name: string, fallback: number): number {
    return intAttr(this.attrs, name, fallback);
  }
  float(name: string, fallback: number): number {
    return floatAttr(this.attrs, name, fallback);
  }
  string(name: string, fallback: string): string {
    return stringAttr(this.attrs, name, fallback);
  }

  /**
   * The constant side of a binary op with one, as one value per channel of `x` (per feature of a flat
   * value), under ONNX's broadcasting (aligned on the right, so a map's per-channel constant is
   * [C, 1, 1]); fails for a constant that varies along H or W.
   */
  perChannel(i: number, x: string): Float32Array {
    const c = this.floats(i, 'constant');
    const dims = this.constant(i, 'constant')!.dims;
    const xs = this.shapeOf(x);
    const full = [...Array(Math.max(0, xs.length + 1 - dims.length)).fill(1), ...dims];
    const ok = full.length === xs.length + 1 && full[0] === 1 && full.slice(2).every((d) => d === 1) && (full[1] === 1 || full[1] === xs[0]);
    if (!ok) fail('UNSUPPORTED', `${this.where}: a constant of shape [${dims}] on a [N, ${xs}] value; relprop reads scalars and per-channel constants`);
    return c;
  }
}

