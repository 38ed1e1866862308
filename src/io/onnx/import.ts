/**
 * ONNX to relprop's graph IR. Reads the operators that torchvision-, Paddle- and Keras-style ResNets,
 * VGGs, MobileNets, ResNeXts, DenseNets and EfficientNets export to (opset 7 and later) and refuses
 * anything else by name, so a model is either explained exactly as its framework computes it or not at all.
 *
 * Decoding uses @bufbuild/protobuf with the generated ONNX schema (onnx-buf). Protobuf lengths are
 * checked against the bytes that remain, and tensor sizes are checked against the data they point to
 * before anything is allocated, so a hostile file ends in a BAD_MODEL error rather than a huge
 * allocation.
 */
import { fromBinary } from '@bufbuild/protobuf';
import {
  ModelProtoSchema,
  TensorProto_DataLocation,
  TensorProto_DataType,
  type AttributeProto,
  type ModelProto,
  type NodeProto,
  type TensorProto,
  type ValueInfoProto,
} from 'onnx-buf';
import { resolveInputShape, type InputShapeOptions } from '../input-shape.js';
import { fail } from '../../errors.js';
import type { Graph } from '../../graph/graph.js';
import type { GraphNode, Pads, Pair } from '../../graph/nodes.js';
import type { Shape } from '../../graph/shapes.js';
import { Emitter } from '../emitter.js';
import { clip, constantAffine, globalPool, product, type ConstantOp } from '../rewrites.js';
import { samePads } from '../padding.js';
import { checkFinite, elementCount, floatsLE, transpose2d } from '../tensor.js';

export const MIN_OPSET = 7;

export interface OnnxImportOptions {
  /**
   * Reads `length` bytes (to the end without one) at `offset` of an external data file the model names
   * (a path relative to the model file); it must fail if the file does not hold them.
   */
  readExternal?: (location: string, offset: number, length: number | undefined) => Uint8Array;
  /** Per-sample input [C, H, W], or its height and width, where the model's input leaves them symbolic. */
  inputShape?: InputShapeOptions['inputShape'];
  inputSize?: InputShapeOptions['inputSize'];
}

/** A constant tensor: float data as float32, integer data as numbers. */
interface Constant {
  dims: number[];
  floats?: Float32Array;
  ints?: number[];
}

type Attrs = Map<string, AttributeProto>;

function nodeLabel(n: NodeProto, index: number): string {
  return `ONNX node ${n.name ? `"${n.name}"` : `#${index}`} (${n.opType})`;
}

function decodeModel(bytes: Uint8Array): ModelProto {
  if (!(bytes instanceof Uint8Array) || bytes.byteLength === 0) fail('BAD_MODEL', 'ONNX model: the file is empty');
  try {
    return fromBinary(ModelProtoSchema, bytes);
  } catch (e) {
    return fail('BAD_MODEL', `ONNX model: not a readable ONNX protobuf (${(e as Error).message}); the file may be truncated or not an ONNX model`);
  }
}

function opsetOf(model: ModelProto): number {
  let version = -1;
  for (const o of model.opsetImport) if (o.domain === '' || o.domain === 'ai.onnx') version = Number(o.version);
  if (version < 0) fail('BAD_MODEL', 'ONNX model: no opset import for the default domain');
  if (version < MIN_OPSET) fail('UNSUPPORTED', `ONNX model uses opset ${version}; relprop reads opset ${MIN_OPSET} and later (re-export with a newer opset)`);
  return version;
}

class TensorReader {
  constructor(private readonly options: OnnxImportOptions) {}

  read(t: TensorProto, where: string): Constant {
    const dims = t.dims.map((d) => Number(d));
    const count = elementCount(dims, where);
    let raw: Uint8Array | null = t.rawData.byteLength > 0 ? t.rawData : null;
    if (t.dataLocation === TensorProto_DataLocation.EXTERNAL) raw = this.external(t, where);
    switch (t.dataType) {
      case TensorProto_DataType.FLOAT: {
        let floats: Float32Array;
        if (raw) floats = floatsLE(raw, count, where);
        else {
          if (t.floatData.length !== count) fail('BAD_MODEL', `${where} has ${t.floatData.length} float values for shape [${dims}] (${count})`);
          floats = Float32Array.from(t.floatData);
        }
        return { dims, floats: checkFinite(floats, where) };
      }
      case TensorProto_DataType.INT64:
      case TensorProto_DataType.INT32: {
        const width = t.dataType === TensorProto_DataType.INT64 ? 8 : 4;
        let ints: number[];
        if (raw) {
          if (raw.byteLength !== count * width) fail('BAD_MODEL', `${where} holds ${raw.byteLength} bytes, expected ${count * width}`);
          const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
          ints = Array.from({ length: count }, (_, i) => (width === 8 ? Number(view.getBigInt64(i * 8, true)) : view.getInt32(i * 4, true)));
        } else {
          const src = width === 8 ? t.int64Data.map(Number) : t.int32Data;
          if (src.length !== count) fail('BAD_MODEL', `${where} has ${src.length} integer values for shape [${dims}] (${count})`);
          ints = [...src];
        }
        return { dims, ints };
      }
      default:
        return fail('UNSUPPORTED', `${where} has data type ${TensorProto_DataType[t.dataType] ?? t.dataType}; relprop reads float32 weights (and int64/int32 shapes)`);
    }
  }

  private external(t: TensorProto, where: string): Uint8Array {
    const entries = new Map(t.externalData.map((e) => [e.key, e.value]));
    const location = entries.get('location');
    if (!location) fail('BAD_MODEL', `${where} is stored externally but names no location`);
    if (!this.options.readExternal) fail('BAD_MODEL', `${where} is stored in the external file "${location}"; load the model from a path so its data files can be read`);
    const offset = Number(entries.get('offset') ?? 0);
    const length = entries.has('length') ? Number(entries.get('length')) : undefined;
    if (!Number.isSafeInteger(offset) || offset < 0 || (length !== undefined && (!Number.isSafeInteger(length) || length < 0))) {
      fail('BAD_MODEL', `${where}: external data offset ${entries.get('offset')} length ${entries.get('length')} are not byte counts`);
    }
    // Only the declared bytes are read, never the whole file (which may be a link or a device).
    return this.options.readExternal(location, offset, length);
  }

}

function attributes(n: NodeProto): Attrs {
  return new Map(n.attribute.map((a) => [a.name, a]));
}

function intsAttr(attrs: Attrs, name: string): number[] | undefined {
  const a = attrs.get(name);
  if (!a) return undefined;
  return a.ints.map(Number);
}
function intAttr(attrs: Attrs, name: string, fallback: number): number {
  const a = attrs.get(name);
  return a ? Number(a.i) : fallback;
}
function floatAttr(attrs: Attrs, name: string, fallback: number): number {
  const a = attrs.get(name);
  return a ? a.f : fallback;
}
function stringAttr(attrs: Attrs, name: string, fallback: string): string {
  const a = attrs.get(name);
  return a ? new TextDecoder().decode(a.s) : fallback;
}

function pair(v: number[] | undefined, fallback: number, where: string, what: string): Pair {
  if (v === undefined) return [fallback, fallback];
  if (v.length !== 2) fail('UNSUPPORTED', `${where}: ${what} [${v}] is not 2-D; relprop reads 2-D images only`);
  return [v[0], v[1]];
}

/** ONNX pads [h_begin, w_begin, h_end, w_end] as [top, left, bottom, right]. */
function pads4(v: number[] | undefined, where: string): Pads {
  if (v === undefined) return [0, 0, 0, 0];
  if (v.length !== 4) fail('UNSUPPORTED', `${where}: pads [${v}] are not those of a 2-D window`);
  return [v[0], v[1], v[2], v[3]];
}

/** What every node's conversion shares: the graph built so far and what is known of the ONNX graph. */
interface Reading {
  readonly emitter: Emitter;
  readonly opset: number;
  readonly reader: TensorReader;
  /** Constant values (initializers and Constant nodes' outputs) by name. */
  readonly constants: Map<string, Constant>;
  /** ONNX value name -> the graph value (a node's name, or the input's) that holds it. */
  readonly alias: Map<string, string>;
  /** How many nodes (and graph outputs) read each value. */
  readonly readers: Map<string, number>;
}

/** One ONNX node as its converter sees it: its inputs, attributes and the helpers that read them. */
class OnnxOp {
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

  /** Input i, a value of the image's data flow. */
  value(i: number): string {
    const name = this.n.input[i];
    if (!name) fail('BAD_MODEL', `${this.where} lacks input ${i}`);
    if (this.r.constants.has(name)) fail('UNSUPPORTED', `${this.where}: input "${name}" is a constant where relprop expects the image's data flow`);
    const held = this.r.alias.get(name);
    if (held === undefined) fail('BAD_MODEL', `${this.where} reads "${name}", which no earlier node produces (nodes must be in topological order)`);
    return held;
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

type Converter = (op: OnnxOp) => string | null;

/** An op of one data input and no parameters. */
const unary = (node: (name: string, x: string, op: OnnxOp) => GraphNode): Converter => (op) => op.emit(node(op.out, op.value(0), op));

function constantNode(op: OnnxOp): null {
  const { attrs, out, where } = op;
  const { constants, reader } = op.r;
  const t = attrs.get('value');
  if (t?.t) constants.set(out, reader.read(t.t, `${where} value`));
  else if (attrs.has('value_float')) constants.set(out, { dims: [], floats: Float32Array.of(op.float('value_float', 0)) });
  else if (attrs.has('value_floats')) constants.set(out, { dims: [attrs.get('value_floats')!.floats.length], floats: Float32Array.from(attrs.get('value_floats')!.floats) });
  else if (attrs.has('value_int')) constants.set(out, { dims: [], ints: [op.int('value_int', 0)] });
  else if (attrs.has('value_ints')) constants.set(out, { dims: [attrs.get('value_ints')!.ints.length], ints: op.ints('value_ints') });
  else fail('UNSUPPORTED', `${where} has no value relprop can read`);
  return null;
}

function conv(op: OnnxOp): string {
  const { where, attrs } = op;
  const x = op.value(0);
  const w = op.constant(1, 'weight');
  if (!w?.floats || w.dims.length !== 4) fail('UNSUPPORTED', `${where}: weight of shape [${w?.dims}] is not that of a 2-D convolution`);
  const [cout, cin, kh, kw] = w.dims;
  const group = op.int('group', 1);
  const kernel = pair(op.ints('kernel_shape'), 0, where, 'kernel_shape');
  if (attrs.has('kernel_shape') && (kernel[0] !== kh || kernel[1] !== kw)) fail('BAD_MODEL', `${where}: kernel_shape [${kernel}] disagrees with weight [${w.dims}]`);
  const stride = pair(op.ints('strides'), 1, where, 'strides');
  const dilation = pair(op.ints('dilations'), 1, where, 'dilations');
  const xs = op.shapeOf(x);
  if (!Number.isInteger(group) || group < 1 || cout % group !== 0 || xs[0] !== cin * group) {
    fail('BAD_MODEL', `${where}: group=${group} with a weight of shape [${w.dims}] reads ${cin * group} channels into ${cout} outputs; its input has ${xs[0]} channels (group must divide both)`);
  }
  const { pads } = windowPads(attrs, where, xs, [kh, kw], stride, dilation);
  const bias = op.n.input[2] ? op.floats(2, 'bias') : null;
  return op.emit({ op: 'Conv2d', name: op.out, inputs: [x], inChannels: cin * group, outChannels: cout, kernel: [kh, kw], stride, pads, dilation, groups: group, weight: w.floats, bias });
}

function batchNormalization(op: OnnxOp): string {
  if (op.opset < 9 && op.int('spatial', 1) !== 1) fail('UNSUPPORTED', `${op.where}: spatial=0 (per-activation statistics)`);
  if (op.int('training_mode', 0) !== 0) fail('UNSUPPORTED', `${op.where}: training_mode=1; export the model in eval mode`);
  const x = op.value(0);
  const channels = op.shapeOf(x)[0];
  const [gamma, beta, mean, variance] = [op.floats(1, 'scale'), op.floats(2, 'bias'), op.floats(3, 'mean'), op.floats(4, 'variance')];
  return op.emit({ op: 'BatchNorm', name: op.out, inputs: [x], channels, gamma, beta, mean, variance, epsilon: op.float('epsilon', 1e-5) });
}

function pool(op: OnnxOp): string {
  const { where, attrs } = op;
  const x = op.value(0);
  const xs = op.shapeOf(x);
  const kernel = pair(op.ints('kernel_shape'), 0, where, 'kernel_shape');
  const stride = pair(op.ints('strides'), 1, where, 'strides');
  const dilation = pair(op.ints('dilations'), 1, where, 'dilations');
  if (dilation[0] !== 1 || dilation[1] !== 1) fail('UNSUPPORTED', `${where}: dilated pooling (dilations [${dilation}])`);
  if (xs.length !== 3) fail('BAD_MODEL', `${where} pools a [${xs}] input`);
  const window = windowPads(attrs, where, xs, kernel, stride, [1, 1]);
  const pads = op.int('ceil_mode', 0) === 1 ? ceilPads(xs, kernel, stride, window.pads) : window.pads;
  if (op.n.opType === 'MaxPool') return op.emit({ op: 'MaxPool2d', name: op.out, inputs: [x], kernel, stride, pads });
  const countIncludePad = op.int('count_include_pad', 0) === 1;
  if (countIncludePad && pads.some((p, i) => p !== window.explicit[i]) && window.auto === 'NOTSET') {
    fail('UNSUPPORTED', `${where}: ceil_mode=1 with count_include_pad=1 (windows past the edge are divided differently)`);
  }
  return op.emit({ op: 'AvgPool2d', name: op.out, inputs: [x], kernel, stride, pads, countIncludePad });
}

/** Add/Sum of values; Add/Sub/Mul/Div of one value and a constant (rewrites.ts); Mul of two values as a gate. */
const arithmetic = (kind: ConstantOp): Converter => (op) => {
  const { n, where } = op;
  const constant = n.input.map((_, i) => op.isConstant(i));
  if (!constant.some(Boolean)) {
    if (n.input.length === 1) return op.value(0);
    if (kind === 'add') return op.emit({ op: 'Add', name: op.out, inputs: n.input.map((_, i) => op.value(i)) });
    if (kind !== 'mul' || n.input.length !== 2) fail('UNSUPPORTED', `${where} of two computed values; relprop reads ${n.opType} of a value and a constant`);
    const [a, b] = [op.value(0), op.value(1)];
    const gated = product(op.r.emitter, op.out, a, b);
    if (gated) return gated;
    return fail('UNSUPPORTED', `${where} multiplies "${n.input[0]}" [${op.shapeOf(a)}] by "${n.input[1]}" [${op.shapeOf(b)}]; relprop reads Mul only as x * sigmoid(x) (SiLU), x * hardsigmoid(x) (HardSwish) or a squeeze-and-excitation gate (x times a per-channel Sigmoid or HardSigmoid of [C, 1, 1])`);
  }
  if (n.input.length !== 2 || constant.every(Boolean)) fail('UNSUPPORTED', `${where} of constants to each other`);
  const k = constant[0] ? 0 : 1;
  if (k === 0 && (kind === 'sub' || kind === 'div')) fail('UNSUPPORTED', `${where}: a constant ${kind === 'sub' ? 'minus' : 'over'} a computed value`);
  const x = op.value(1 - k);
  const c = op.perChannel(k, x);
  // Adding zeros (an exporter's leftover) or multiplying by ones is no layer.
  if (c.every((v) => v === (kind === 'add' || kind === 'sub' ? 0 : 1))) return x;
  return constantAffine(op.r.emitter, op.out, x, kind, c, op.readOnce, where);
};

function reshape(op: OnnxOp): string {
  const { n, where } = op;
  const x = op.value(0);
  const xs = op.shapeOf(x);
  const per = xs.reduce((a, b) => a * b, 1);
  let ok: boolean;
  let target: number[];
  if (n.opType === 'Reshape') {
    const c = op.constant(1, 'shape');
    if (!c?.ints) fail('BAD_MODEL', `${where}: shape must be an integer tensor`);
    target = c.ints;
    // [N, per] in any of the spellings exporters use: [0, -1], [-1, per], [1, per], [N, -1] ...
    const t1 = target[1] === 0 ? xs[0] : target[1];
    ok = target.length === 2 && target[0] >= -1 && (t1 === per || (t1 === -1 && target[0] !== -1));
  } else {
    const axes = n.input[1] ? op.constant(1, 'axes')?.ints : op.ints('axes');
    const full = [-1, ...xs];
    const drop = new Set((axes ?? full.map((d, i) => (d === 1 ? i : -1)).filter((i) => i >= 0)).map((a) => (a < 0 ? a + full.length : a)));
    target = full.filter((_, i) => !drop.has(i));
    ok = ![...drop].some((a) => a === 0 || full[a] !== 1) && target.length === 2;
  }
  if (!ok) fail('UNSUPPORTED', `${where} reshapes [N, ${xs}] to [${target}]; relprop reads reshapes to [N, ${per}] only`);
  return op.emit({ op: xs.length === 1 ? 'Identity' : 'Flatten', name: op.out, inputs: [x] });
}

function gemm(op: OnnxOp): string {
  const { where } = op;
  const x = op.value(0);
  const xs = op.shapeOf(x);
  const isGemm = op.n.opType === 'Gemm';
  if (xs.length !== 1) fail('UNSUPPORTED', `${where} multiplies a [N, ${xs}] tensor; relprop reads ${op.n.opType} on flat [N, features] inputs`);
  const b = op.constant(1, 'weight');
  if (!b?.floats || b.dims.length !== 2) fail('UNSUPPORTED', `${where}: weight of shape [${b?.dims}] is not a matrix`);
  if (isGemm && op.int('transA', 0) !== 0) fail('UNSUPPORTED', `${where}: transA=1`);
  const transB = isGemm && op.int('transB', 0) === 1;
  const [outF, inF] = transB ? b.dims : [b.dims[1], b.dims[0]];
  let weight = transB ? Float32Array.from(b.floats) : transpose2d(b.floats, b.dims[0], b.dims[1]);
  const alpha = isGemm ? op.float('alpha', 1) : 1;
  if (alpha !== 1) weight = weight.map((v) => v * alpha);
  let bias: Float32Array | null = null;
  if (isGemm && op.n.input[2]) {
    const beta = op.float('beta', 1);
    bias = broadcastVector(op.floats(2, 'bias'), outF, where).map((v) => v * beta);
  }
  return op.emit({ op: 'Linear', name: op.out, inputs: [x], inFeatures: inF, outFeatures: outF, weight, bias });
}

function pad(op: OnnxOp): string {
  const { where } = op;
  const x = op.value(0);
  const mode = op.string('mode', 'constant');
  if (mode !== 'constant') fail('UNSUPPORTED', `${where}: mode "${mode}"; relprop reads zero padding only`);
  let p: number[] | undefined;
  let fill = 0;
  if (op.opset < 11) {
    p = op.ints('pads');
    fill = op.float('value', 0);
  } else {
    p = op.constant(1, 'pads')?.ints;
    if (op.n.input[2]) fill = op.floats(2, 'constant_value')[0] ?? 0;
    if (op.n.input[3]) fail('UNSUPPORTED', `${where}: the axes input`);
  }
  if (fill !== 0) fail('UNSUPPORTED', `${where}: pads with the value ${fill}; relprop reads zero padding only`);
  if (!p || p.length !== 8 || p[0] || p[1] || p[4] || p[5] || p.some((v) => v < 0)) {
    fail('UNSUPPORTED', `${where}: pads [${p}]; relprop reads non-negative padding of H and W only`);
  }
  return op.emit({ op: 'Pad', name: op.out, inputs: [x], pads: [p[2], p[3], p[6], p[7]] });
}

function identity(op: OnnxOp): string | null {
  // PyTorch's exporter names one initializer twice through an Identity (shared weights).
  if (op.n.opType === 'Identity' && op.isConstant(0)) {
    op.r.constants.set(op.out, op.r.constants.get(op.n.input[0])!);
    return null;
  }
  return op.emit({ op: 'Identity', name: op.out, inputs: [op.value(0)] });
}

function clipNode(op: OnnxOp): string {
  const x = op.value(0);
  // Before opset 11 the bounds are attributes; from 11 optional constant inputs.
  const bound = (i: number, attr: string, fallback: number) => (op.opset < 11 ? op.float(attr, fallback) : op.n.input[i] ? scalar(op.floats(i, attr), op.where, attr) : fallback);
  return clip(op.r.emitter, op.out, x, bound(1, 'min', -Infinity), bound(2, 'max', Infinity), op.readOnce);
}

/** Min/Max of a value and one constant number: a clip. */
const bound = (side: 'min' | 'max'): Converter => (op) => {
  const k = op.n.input.findIndex((_, i) => op.isConstant(i));
  if (op.n.input.length !== 2 || k < 0 || op.isConstant(1 - k)) fail('UNSUPPORTED', `${op.where}: relprop reads ${op.n.opType} of a value and one constant number (a clip)`);
  const v = scalar(op.floats(k, 'bound'), op.where, 'the bound');
  return clip(op.r.emitter, op.out, op.value(1 - k), side === 'max' ? v : -Infinity, side === 'min' ? v : Infinity, op.readOnce);
};

/** ReduceMean/ReduceMax over H and W: a global pool. */
const spatialReduce = (kind: 'mean' | 'max'): Converter => (op) => {
  const x = op.value(0);
  const xs = op.shapeOf(x);
  const axes = (op.opset < 18 ? op.ints('axes') : op.n.input[1] ? op.constant(1, 'axes')?.ints : undefined)?.map((a) => (a < 0 ? a + 4 : a));
  if (xs.length !== 3 || !axes || axes.length !== 2 || !axes.includes(2) || !axes.includes(3)) fail('UNSUPPORTED', `${op.where}: a ${kind} over axes [${axes ?? 'all'}] of a [N, ${xs}] tensor; relprop reads the spatial ${kind} (axes 2 and 3) only`);
  return globalPool(op.r.emitter, op.out, x, kind, op.int('keepdims', 1) === 1, op.where);
};

function concat(op: OnnxOp): string {
  const xs = op.n.input.map((_, i) => op.value(i));
  const rank = op.shapeOf(xs[0]).length + 1;
  const axis = op.int('axis', 1);
  if (axis !== 1 && axis !== 1 - rank) fail('UNSUPPORTED', `${op.where}: axis=${axis}; relprop concatenates along channels (axis 1) only`);
  // DenseNet's first layer concatenates a list of one tensor.
  return op.emit(xs.length === 1 ? { op: 'Identity', name: op.out, inputs: xs } : { op: 'Concat', name: op.out, inputs: xs });
}

function flatten(op: OnnxOp): string {
  const axis = op.int('axis', 1);
  if (axis !== 1) fail('UNSUPPORTED', `${op.where}: axis=${axis}; relprop flattens every dimension after the batch (axis=1)`);
  return op.emit({ op: 'Flatten', name: op.out, inputs: [op.value(0)] });
}

function softmax(op: OnnxOp): string {
  const x = op.value(0);
  if (op.shapeOf(x).length !== 1) fail('UNSUPPORTED', `${op.where}: softmax over a [N, ${op.shapeOf(x)}] tensor; relprop reads a softmax over the class logits only`);
  return op.emit({ op: 'Softmax', name: op.out, inputs: [x] });
}

/** Each ONNX operator relprop reads, and how it becomes relprop's graph (null: a constant, no node). */
const CONVERTERS: Record<string, Converter> = {
  Constant: constantNode,
  Conv: conv,
  BatchNormalization: batchNormalization,
  Relu: unary((name, x) => ({ op: 'ReLU', name, inputs: [x] })),
  MaxPool: pool,
  AveragePool: pool,
  GlobalAveragePool: unary((name, x) => ({ op: 'GlobalAvgPool', name, inputs: [x] })),
  GlobalMaxPool: (op) => globalPool(op.r.emitter, op.out, op.value(0), 'max', true, op.where),
  Add: arithmetic('add'),
  Sum: arithmetic('add'),
  Sub: arithmetic('sub'),
  Mul: arithmetic('mul'),
  Div: arithmetic('div'),
  Flatten: flatten,
  Reshape: reshape,
  Squeeze: reshape,
  Gemm: gemm,
  MatMul: gemm,
  Pad: pad,
  Identity: identity,
  Dropout: identity,
  Softmax: softmax,
  Clip: clipNode,
  Min: bound('min'),
  Max: bound('max'),
  LeakyRelu: unary((name, x, op) => ({ op: 'LeakyReLU', name, inputs: [x], alpha: op.float('alpha', 0.01) })),
  Sigmoid: unary((name, x) => ({ op: 'Sigmoid', name, inputs: [x] })),
  Tanh: unary((name, x) => ({ op: 'Tanh', name, inputs: [x] })),
  HardSigmoid: unary((name, x, op) => ({ op: 'HardSigmoid', name, inputs: [x], alpha: op.float('alpha', 0.2), beta: op.float('beta', 0.5) })),
  HardSwish: unary((name, x) => ({ op: 'HardSwish', name, inputs: [x] })),
  ReduceMean: spatialReduce('mean'),
  ReduceMax: spatialReduce('max'),
  Concat: concat,
};

export const ONNX_OPERATORS = Object.keys(CONVERTERS);

/**
 * Reads an ONNX model into a validated graph. Weights are copied out of the file; the file's bytes
 * can be released afterwards.
 */
export function importOnnx(bytes: Uint8Array, options: OnnxImportOptions = {}): Graph {
  const model = decodeModel(bytes);
  const opset = opsetOf(model);
  const g = model.graph;
  if (!g) fail('BAD_MODEL', 'ONNX model has no graph');
  const reader = new TensorReader(options);

  const constants = new Map<string, Constant>();
  for (const [i, t] of g.initializer.entries()) {
    if (!t.name) fail('BAD_MODEL', `ONNX initializer #${i} has no name`);
    constants.set(t.name, reader.read(t, `ONNX initializer "${t.name}"`));
  }

  const dataInputs = g.input.filter((v) => !constants.has(v.name));
  if (dataInputs.length !== 1) {
    fail('UNSUPPORTED', `ONNX model has ${dataInputs.length} data inputs (${dataInputs.map((v) => `"${v.name}"`).join(', ')}); relprop explains models with one image input`);
  }
  const input = dataInputs[0].name;
  const emitter = new Emitter('ONNX model');
  emitter.setInput(input, inputShape(dataInputs[0], options));

  // How often each value is read: a layer read once can take in the constant added after it.
  const readers = new Map<string, number>();
  for (const n of g.node) for (const v of n.input) if (v) readers.set(v, (readers.get(v) ?? 0) + 1);
  for (const v of g.output) readers.set(v.name, (readers.get(v.name) ?? 0) + 1);
  const reading: Reading = { emitter, opset, reader, constants, alias: new Map([[input, input]]), readers };

  for (const [index, n] of g.node.entries()) {
    const op = new OnnxOp(n, index, reading);
    if (n.domain !== '' && n.domain !== 'ai.onnx') fail('UNSUPPORTED', `${op.where} is in domain "${n.domain}"; relprop reads the default ONNX domain only`);
    if (!op.out) fail('BAD_MODEL', `${op.where} has no output`);
    for (const extra of n.output.slice(1)) {
      if (extra && readers.has(extra)) fail('UNSUPPORTED', `${op.where}: its output "${extra}" is used; relprop supports only the first output of ${n.opType}`);
    }
    const converter = Object.hasOwn(CONVERTERS, n.opType) ? CONVERTERS[n.opType] : undefined;
    if (!converter) fail('UNSUPPORTED', `${op.where}: operator "${n.opType}" is not supported; relprop reads ${ONNX_OPERATORS.join(', ')}`);
    const held = converter(op);
    if (held !== null) reading.alias.set(op.out, held);
  }

  if (g.output.length < 1) fail('BAD_MODEL', 'ONNX graph declares no output');
  const output = reading.alias.get(g.output[0].name);
  if (output === undefined) fail('BAD_MODEL', `ONNX graph output "${g.output[0].name}" is not produced by any node`);
  return emitter.graph(output);
}

/** A bound given as a one-value tensor. */
function scalar(v: Float32Array, where: string, what: string): number {
  if (v.length !== 1) fail('BAD_MODEL', `${where}: ${what} has ${v.length} values; it must be one number`);
  return v[0];
}

/** Extra bottom/right padding that makes a floor-mode window count equal ceil_mode's (PyTorch's rule). */
/**
 * A Conv's or pool's padding: its explicit `pads`, or what `auto_pad` (SAME_UPPER, SAME_LOWER, VALID)
 * works out for this input. Returns both, and the auto_pad mode.
 */
function windowPads(attrs: Attrs, where: string, xs: Shape, kernel: Pair, stride: Pair, dilation: Pair): { pads: Pads; explicit: Pads; auto: string } {
  const explicit = pads4(intsAttr(attrs, 'pads'), where);
  const auto = stringAttr(attrs, 'auto_pad', 'NOTSET');
  let pads = explicit;
  if (auto === 'SAME_UPPER' || auto === 'SAME_LOWER') pads = samePads(auto, [xs[1], xs[2]], kernel, stride, dilation);
  else if (auto === 'VALID') pads = [0, 0, 0, 0];
  else if (auto !== 'NOTSET') fail('UNSUPPORTED', `${where}: auto_pad "${auto}"`);
  return { pads, explicit, auto };
}

function ceilPads(xs: Shape, kernel: Pair, stride: Pair, pads: Pads): Pads {
  const extra = [0, 1].map((i) => {
    const size = xs[i + 1] + pads[i] + pads[i + 2];
    let out = Math.ceil((size - kernel[i]) / stride[i]) + 1;
    // The last window must start inside the image or its leading padding.
    if ((out - 1) * stride[i] >= xs[i + 1] + pads[i]) out--;
    return Math.max((out - 1) * stride[i] + kernel[i] - size, 0);
  });
  return [pads[0], pads[1], pads[2] + extra[0], pads[3] + extra[1]];
}

function broadcastVector(c: Float32Array, length: number, where: string): Float32Array {
  if (c.length === length) return Float32Array.from(c);
  if (c.length === 1) return new Float32Array(length).fill(c[0]);
  return fail('BAD_MODEL', `${where}: a bias of ${c.length} values for ${length} outputs`);
}

function inputShape(v: ValueInfoProto, options: OnnxImportOptions): Shape {
  const t = v.type?.value.case === 'tensorType' ? v.type.value.value : undefined;
  if (!t) fail('BAD_MODEL', `ONNX input "${v.name}" is not a tensor`);
  if (t.elemType !== TensorProto_DataType.FLOAT) fail('UNSUPPORTED', `ONNX input "${v.name}" has element type ${TensorProto_DataType[t.elemType] ?? t.elemType}; relprop reads float32 images`);
  const dims = t.shape?.dim.map((d) => (d.value.case === 'dimValue' && d.value.value > 0 ? Number(d.value.value) : null)) ?? [];
  if (dims.length !== 4) fail('UNSUPPORTED', `ONNX input "${v.name}" has ${dims.length} dimensions; relprop reads [N, C, H, W] images`);
  return resolveInputShape(dims.slice(1), options, `ONNX input "${v.name}"`);
}
