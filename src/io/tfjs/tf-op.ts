/**
 * One TF node of a graph model as its converter (graph-ops.ts) sees it: its inputs, attributes, the
 * values they hold, and the helpers that read them and emit relprop's nodes.
 */
import type { InputShapeOptions } from '../input-shape.js';
import { fail } from '../../errors.js';
import type { GraphNode, Pads, Pair } from '../../graph/nodes.js';
import type { Emitter } from '../emitter.js';
import { samePads } from '../padding.js';

export interface TfNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, TfAttr>;
}
export interface TfAttr {
  i?: string | number;
  f?: number;
  b?: boolean;
  s?: string;
  type?: string;
  list?: { i?: (string | number)[]; s?: string[]; f?: number[] };
  shape?: { dim?: { size?: string | number }[]; unknownRank?: boolean };
  tensor?: { dtype?: string; tensorShape?: { dim?: { size?: string | number }[] }; floatVal?: number[]; intVal?: number[] };
}

export type Const = { shape: number[]; data: Float32Array };
/** A TF value: a graph value of relprop's (a map [C, H, W] or a flat [F]) or a constant. */
export type Value = { map: string } | { const: Const };

export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
/** GraphDef JSON keeps strings (padding, data_format, fused op names) in base64. */
function text(s: unknown): string {
  try {
    return atob(String(s));
  } catch {
    return fail('BAD_MODEL', `graph model: the attribute value ${JSON.stringify(s)} is not base64`);
  }
}

/** What every node's conversion shares: the graph built so far and what is known of the TF graph. */
export interface Reading {
  readonly emitter: Emitter;
  readonly weights: Map<string, Const>;
  readonly options: InputShapeOptions;
  /** How many TF nodes read each node. */
  readonly readers: Map<string, number>;
  /** Flat values that are flattened NCHW maps, with the map's shape (a dense layer reorders its rows). */
  readonly flattenedFrom: Map<string, [number, number, number]>;
  valueOf(name: string): Value;
}

/** One TF node as its converter sees it: its inputs, attributes and the helpers that read them. */
export class TfOp {
  readonly where: string;
  readonly ins: string[];
  readonly attr: Record<string, TfAttr>;

  constructor(
    readonly n: TfNode,
    readonly r: Reading,
  ) {
    this.where = `graph node "${n.name}" (${n.op})`;
    this.ins = dataInputs(n);
    this.attr = n.attr ?? {};
  }

  get name(): string {
    return this.n.name;
  }

  emit(node: GraphNode): string {
    return this.r.emitter.add(node);
  }

  readOnce = (name: string): boolean => this.r.readers.get(name) === 1;

  arg(i: number): Value {
    if (i >= this.ins.length) fail('BAD_MODEL', `${this.where} has ${this.ins.length} inputs, needs more`);
    return this.r.valueOf(this.ins[i]);
  }

  map(i = 0): string {
    const v = this.arg(i);
    if (!('map' in v)) fail('UNSUPPORTED', `${this.where}: input ${i} is a constant; relprop reads ops on the image's values`);
    return v.map;
  }

  constant(i: number, shape?: number[]): Const {
    const v = this.arg(i);
    if (!('const' in v)) return fail('UNSUPPORTED', `${this.where}: input ${i} ("${this.ins[i]}") must be a constant (weights computed in the graph are not supported)`);
    if (shape && (v.const.shape.length !== shape.length || v.const.shape.some((d, k) => d !== shape[k]))) fail('BAD_MODEL', `${this.where}: constant "${this.ins[i]}" has shape [${v.const.shape}], expected [${shape}]`);
    return v.const;
  }

  /** The map and the constant of a binary op with one constant side, and which side the constant is. */
  mapAndConstant(): { x: string; c: Const; constantFirst: boolean } {
    const [a, b] = [this.arg(0), this.arg(1)];
    if ('map' in a && 'map' in b) fail('UNSUPPORTED', `${this.where} of two computed values`);
    if ('const' in a && 'const' in b) fail('UNSUPPORTED', `${this.where} of two constants`);
    return 'map' in a ? { x: a.map, c: (b as { const: Const }).const, constantFirst: false } : { x: (b as { map: string }).map, c: a.const, constantFirst: true };
  }

  mapShape(x: string): [number, number, number] {
    const s = this.r.emitter.shape(x);
    if (s.length !== 3) fail('UNSUPPORTED', `${this.where} needs a feature map, got [${s}]`);
    return [s[0], s[1], s[2]];
  }

  ints(key: string): number[] {
    return (this.attr[key]?.list?.i ?? []).map(Number);
  }

  str(key: string, fallback?: string): string {
    const s = this.attr[key]?.s;
    if (s === undefined) return fallback ?? fail('BAD_MODEL', `${this.where} has no attribute ${key}`);
    return text(s);
  }

  nhwc(): void {
    const format = this.str('data_format', 'NHWC');
    if (format !== 'NHWC') fail('UNSUPPORTED', `${this.where}: data_format ${format}; relprop reads NHWC graph models`);
  }

  spatialPair(key: string, fallback: number): Pair {
    const v = this.ints(key);
    if (v.length === 0) return [fallback, fallback];
    if (v.length !== 4 || v[0] !== 1 || v[3] !== 1) fail('UNSUPPORTED', `${this.where}: ${key} [${v}]; relprop reads NHWC windows [1, h, w, 1]`);
    return [v[1], v[2]];
  }

  windowPads(h: number, w: number, kernel: Pair, stride: Pair, dilation: Pair): Pads {
    const padding = this.str('padding', 'VALID');
    if (padding === 'SAME') return samePads('SAME_UPPER', [h, w], kernel, stride, dilation);
    if (padding === 'VALID') return [0, 0, 0, 0];
    if (padding === 'EXPLICIT') {
      const e = this.ints('explicit_paddings');
      if (e.length !== 8 || e[0] || e[1] || e[6] || e[7]) fail('UNSUPPORTED', `${this.where}: explicit_paddings [${e}]`);
      return [e[2], e[4], e[3], e[5]];
    }
    return fail('UNSUPPORTED', `${this.where}: padding ${padding}`);
  }

  /**
   * fused_ops of _Fused*: [BiasAdd, activation?], the bias the constant after the weights. (TF's
   * FusedBatchNorm fusion is left out: tfjs cannot run it, so the converter does not write it.)
   */
  fused(layer: string, channels: number): string {
    const ops = (this.attr.fused_ops?.list?.s ?? []).map(text);
    const [first, act, ...rest] = ops;
    if (rest.length || (first !== undefined && first !== 'BiasAdd')) fail('UNSUPPORTED', `${this.where}: fused ops [${ops}]; relprop reads [BiasAdd, activation]`);
    if (first === 'BiasAdd') (this.r.emitter.byName.get(layer) as { bias: Float32Array | null }).bias = this.constant(2, [channels]).data.slice();
    if (act === undefined) return layer;
    const activation = Object.hasOwn(FUSED_ACTIVATIONS, act) ? FUSED_ACTIVATIONS[act] : undefined;
    if (!activation) return fail('UNSUPPORTED', `${this.where}: fused activation ${act}; relprop reads ${Object.keys(FUSED_ACTIVATIONS).join(', ')}`);
    return this.emit(activation(`${this.name}/${act}`, layer, this.attr.leakyrelu_alpha?.f ?? 0.2));
  }
}

/** The activations _Fused* ops end with (TF's names). */
const FUSED_ACTIVATIONS: Record<string, (name: string, x: string, alpha: number) => GraphNode> = {
  Relu: (name, x) => ({ op: 'ReLU', name, inputs: [x] }),
  Relu6: (name, x) => ({ op: 'Clip', name, inputs: [x], min: 0, max: 6 }),
  Sigmoid: (name, x) => ({ op: 'Sigmoid', name, inputs: [x] }),
  LeakyRelu: (name, x, alpha) => ({ op: 'LeakyReLU', name, inputs: [x], alpha }),
};

/** A node's data inputs by name (control inputs, ^name, left out); relprop reads first outputs only. */
export function dataInputs(n: TfNode): string[] {
  const where = `graph node "${n.name}" (${n.op})`;
  return (n.input ?? []).filter((s) => !s.startsWith('^')).map((s) => {
    if (typeof s !== 'string') fail('BAD_MODEL', `${where}: an input is not a name`);
    const [name, port] = s.split(':');
    if (port !== undefined && port !== '0') fail('UNSUPPORTED', `${where} reads output ${port} of "${name}"; relprop reads first outputs only`);
    return name;
  });
}
