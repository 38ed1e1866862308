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
import { fail, RelpropError } from '../../errors.js';
import { Graph } from '../../graph/graph.js';
import type { GraphNode, Pads, Pair } from '../../graph/nodes.js';
import { inferShape, type Shape } from '../../graph/shapes.js';
import { samePads } from '../padding.js';
import { checkFinite, elementCount, floatsLE, transpose2d } from '../tensor.js';

export const ONNX_OPERATORS = [
  'Conv',
  'BatchNormalization',
  'Relu',
  'MaxPool',
  'AveragePool',
  'GlobalAveragePool',
  'Add',
  'Sum',
  'Flatten',
  'Reshape',
  'Squeeze',
  'Gemm',
  'MatMul',
  'Pad',
  'Identity',
  'Dropout',
  'Softmax',
  'Constant',
  'Clip',
  'LeakyRelu',
  'Sigmoid',
  'HardSigmoid',
  'HardSwish',
  'Mul',
  'ReduceMean',
  'Concat',
] as const;

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
  const input = { name: dataInputs[0].name, shape: inputShape(dataInputs[0], options) };

  // How often each value is read, to know when MatMul + Add can fuse and which extra outputs are used.
  const readers = new Map<string, number>();
  for (const n of g.node) for (const v of n.input) if (v) readers.set(v, (readers.get(v) ?? 0) + 1);
  for (const v of g.output) readers.set(v.name, (readers.get(v.name) ?? 0) + 1);

  const nodes: GraphNode[] = [];
  const shapes = new Map<string, Shape>([[input.name, input.shape]]);
  /** ONNX value name -> the graph node (or input) that holds it. */
  const alias = new Map<string, string>([[input.name, input.name]]);
  const byName = new Map<string, GraphNode>();
  const emit = (node: GraphNode, onnxName: string) => {
    shapes.set(node.name, inferShape(node, node.inputs.map((s) => shapes.get(s)!)));
    nodes.push(node);
    byName.set(node.name, node);
    alias.set(onnxName, node.name);
  };

  for (const [index, n] of g.node.entries()) {
    const where = nodeLabel(n, index);
    if (n.domain !== '' && n.domain !== 'ai.onnx') fail('UNSUPPORTED', `${where} is in domain "${n.domain}"; relprop reads the default ONNX domain only`);
    const attrs = attributes(n);
    const out = n.output[0];
    if (!out) fail('BAD_MODEL', `${where} has no output`);
    for (const extra of n.output.slice(1)) {
      if (extra && readers.has(extra)) fail('UNSUPPORTED', `${where}: its output "${extra}" is used; relprop supports only the first output of ${n.opType}`);
    }
    const value = (i: number): string => {
      const name = n.input[i];
      if (!name) fail('BAD_MODEL', `${where} lacks input ${i}`);
      if (constants.has(name)) fail('UNSUPPORTED', `${where}: input "${name}" is a constant where relprop expects the image's data flow`);
      const held = alias.get(name);
      if (held === undefined) fail('BAD_MODEL', `${where} reads "${name}", which no earlier node produces (nodes must be in topological order)`);
      return held;
    };
    const constant = (i: number, what: string): Constant | undefined => {
      const name = n.input[i];
      if (!name) return undefined;
      const c = constants.get(name);
      if (!c) fail('UNSUPPORTED', `${where}: ${what} "${name}" is computed by the graph; relprop needs it to be a constant (initializer)`);
      return c;
    };
    const floats = (i: number, what: string): Float32Array => {
      const c = constant(i, what);
      if (!c?.floats) fail('BAD_MODEL', `${where}: ${what} must be a float32 tensor`);
      return c.floats;
    };
    const shapeOf = (name: string) => shapes.get(name)!;

    switch (n.opType) {
      case 'Constant': {
        const t = attrs.get('value');
        if (t?.t) constants.set(out, reader.read(t.t, `${where} value`));
        else if (attrs.has('value_float')) constants.set(out, { dims: [], floats: Float32Array.of(floatAttr(attrs, 'value_float', 0)) });
        else if (attrs.has('value_floats')) constants.set(out, { dims: [attrs.get('value_floats')!.floats.length], floats: Float32Array.from(attrs.get('value_floats')!.floats) });
        else if (attrs.has('value_int')) constants.set(out, { dims: [], ints: [intAttr(attrs, 'value_int', 0)] });
        else if (attrs.has('value_ints')) constants.set(out, { dims: [attrs.get('value_ints')!.ints.length], ints: intsAttr(attrs, 'value_ints') });
        else fail('UNSUPPORTED', `${where} has no value relprop can read`);
        break;
      }
      case 'Conv': {
        const x = value(0);
        const w = constant(1, 'weight');
        if (!w?.floats || w.dims.length !== 4) fail('UNSUPPORTED', `${where}: weight of shape [${w?.dims}] is not that of a 2-D convolution`);
        const [cout, cin, kh, kw] = w.dims;
        const group = intAttr(attrs, 'group', 1);
        const kernel = pair(intsAttr(attrs, 'kernel_shape'), 0, where, 'kernel_shape');
        if (attrs.has('kernel_shape') && (kernel[0] !== kh || kernel[1] !== kw)) fail('BAD_MODEL', `${where}: kernel_shape [${kernel}] disagrees with weight [${w.dims}]`);
        const stride = pair(intsAttr(attrs, 'strides'), 1, where, 'strides');
        const dilation = pair(intsAttr(attrs, 'dilations'), 1, where, 'dilations');
        const xs = shapeOf(x);
        if (!Number.isInteger(group) || group < 1 || cout % group !== 0 || xs[0] !== cin * group) {
          fail('BAD_MODEL', `${where}: group=${group} with a weight of shape [${w.dims}] reads ${cin * group} channels into ${cout} outputs; its input has ${xs[0]} channels (group must divide both)`);
        }
        const { pads } = windowPads(attrs, where, xs, [kh, kw], stride, dilation);
        const b = n.input[2] ? floats(2, 'bias') : null;
        emit(
          { op: 'Conv2d', name: out, inputs: [x], inChannels: cin * group, outChannels: cout, kernel: [kh, kw], stride, pads, dilation, groups: group, weight: w.floats, bias: b },
          out,
        );
        break;
      }
      case 'BatchNormalization': {
        if (opset < 9 && intAttr(attrs, 'spatial', 1) !== 1) fail('UNSUPPORTED', `${where}: spatial=0 (per-activation statistics)`);
        if (intAttr(attrs, 'training_mode', 0) !== 0) fail('UNSUPPORTED', `${where}: training_mode=1; export the model in eval mode`);
        const x = value(0);
        const channels = shapeOf(x)[0];
        emit(
          {
            op: 'BatchNorm',
            name: out,
            inputs: [x],
            channels,
            gamma: floats(1, 'scale'),
            beta: floats(2, 'bias'),
            mean: floats(3, 'mean'),
            variance: floats(4, 'variance'),
            epsilon: floatAttr(attrs, 'epsilon', 1e-5),
          },
          out,
        );
        break;
      }
      case 'Relu':
        emit({ op: 'ReLU', name: out, inputs: [value(0)] }, out);
        break;
      case 'MaxPool':
      case 'AveragePool': {
        const x = value(0);
        const xs = shapeOf(x);
        const kernel = pair(intsAttr(attrs, 'kernel_shape'), 0, where, 'kernel_shape');
        const stride = pair(intsAttr(attrs, 'strides'), 1, where, 'strides');
        const dilation = pair(intsAttr(attrs, 'dilations'), 1, where, 'dilations');
        if (dilation[0] !== 1 || dilation[1] !== 1) fail('UNSUPPORTED', `${where}: dilated pooling (dilations [${dilation}])`);
        if (xs.length !== 3) fail('BAD_MODEL', `${where} pools a [${xs}] input`);
        const window = windowPads(attrs, where, xs, kernel, stride, [1, 1]);
        const pads = intAttr(attrs, 'ceil_mode', 0) === 1 ? ceilPads(xs, kernel, stride, window.pads) : window.pads;
        if (n.opType === 'MaxPool') {
          emit({ op: 'MaxPool2d', name: out, inputs: [x], kernel, stride, pads }, out);
        } else {
          const countIncludePad = intAttr(attrs, 'count_include_pad', 0) === 1;
          if (countIncludePad && pads.some((p, i) => p !== window.explicit[i]) && window.auto === 'NOTSET') {
            fail('UNSUPPORTED', `${where}: ceil_mode=1 with count_include_pad=1 (windows past the edge are divided differently)`);
          }
          emit({ op: 'AvgPool2d', name: out, inputs: [x], kernel, stride, pads, countIncludePad }, out);
        }
        break;
      }
      case 'GlobalAveragePool':
        emit({ op: 'GlobalAvgPool', name: out, inputs: [value(0)] }, out);
        break;
      case 'Add':
      case 'Sum': {
        const constIdx = n.input.map((v, i) => (constants.has(v) ? i : -1)).filter((i) => i >= 0);
        if (constIdx.length === 0) {
          if (n.input.length === 1) emit({ op: 'Identity', name: out, inputs: [value(0)] }, out);
          else emit({ op: 'Add', name: out, inputs: n.input.map((_, i) => value(i)) }, out);
          break;
        }
        if (n.input.length !== 2 || constIdx.length !== 1) fail('UNSUPPORTED', `${where} adds constants to each other`);
        const x = value(1 - constIdx[0]);
        const c = floats(constIdx[0], 'addend');
        const prev = nodes[nodes.length - 1];
        // MatMul + Add (how some exporters write a Dense layer): the constant becomes the bias.
        if (prev && prev.name === x && prev.op === 'Linear' && prev.bias === null && readers.get(n.input[1 - constIdx[0]]) === 1) {
          prev.bias = broadcastVector(c, prev.outFeatures, where);
          alias.set(out, prev.name);
          shapes.set(prev.name, inferShape(prev, prev.inputs.map((s) => shapes.get(s)!)));
          break;
        }
        if (c.every((v) => v === 0)) {
          emit({ op: 'Identity', name: out, inputs: [x] }, out);
          break;
        }
        fail('UNSUPPORTED', `${where} adds a constant to "${n.input[1 - constIdx[0]]}", which is not the output of a MatMul; relprop reads Add of a constant only as a Dense layer's bias`);
      }
      case 'Flatten': {
        const x = value(0);
        const axis = intAttr(attrs, 'axis', 1);
        if (axis !== 1) fail('UNSUPPORTED', `${where}: axis=${axis}; relprop flattens every dimension after the batch (axis=1)`);
        emit({ op: 'Flatten', name: out, inputs: [x] }, out);
        break;
      }
      case 'Reshape':
      case 'Squeeze': {
        const x = value(0);
        const xs = shapeOf(x);
        const per = xs.reduce((a, b) => a * b, 1);
        let ok: boolean;
        let target: number[];
        if (n.opType === 'Reshape') {
          const c = constant(1, 'shape');
          if (!c?.ints) fail('BAD_MODEL', `${where}: shape must be an integer tensor`);
          target = c.ints;
          // [N, per] in any of the spellings exporters use: [0, -1], [-1, per], [1, per], [N, -1] ...
          const t1 = target[1] === 0 ? xs[0] : target[1];
          ok = target.length === 2 && target[0] >= -1 && (t1 === per || (t1 === -1 && target[0] !== -1));
        } else {
          const axes = n.input[1] ? constant(1, 'axes')?.ints : intsAttr(attrs, 'axes');
          const full = [-1, ...xs];
          const drop = new Set((axes ?? full.map((d, i) => (d === 1 ? i : -1)).filter((i) => i >= 0)).map((a) => (a < 0 ? a + full.length : a)));
          target = full.filter((_, i) => !drop.has(i));
          ok = ![...drop].some((a) => a === 0 || full[a] !== 1) && target.length === 2;
        }
        if (!ok) {
          fail('UNSUPPORTED', `${where} reshapes [N, ${xs}] to [${target}]; relprop reads reshapes to [N, ${per}] only`);
        }
        emit({ op: xs.length === 1 ? 'Identity' : 'Flatten', name: out, inputs: [x] }, out);
        break;
      }
      case 'Gemm':
      case 'MatMul': {
        const x = value(0);
        const xs = shapeOf(x);
        if (xs.length !== 1) fail('UNSUPPORTED', `${where} multiplies a [N, ${xs}] tensor; relprop reads ${n.opType} on flat [N, features] inputs`);
        const b = constant(1, 'weight');
        if (!b?.floats || b.dims.length !== 2) fail('UNSUPPORTED', `${where}: weight of shape [${b?.dims}] is not a matrix`);
        const gemm = n.opType === 'Gemm';
        if (gemm && intAttr(attrs, 'transA', 0) !== 0) fail('UNSUPPORTED', `${where}: transA=1`);
        const transB = gemm && intAttr(attrs, 'transB', 0) === 1;
        const [outF, inF] = transB ? b.dims : [b.dims[1], b.dims[0]];
        let weight = transB ? Float32Array.from(b.floats) : transpose2d(b.floats, b.dims[0], b.dims[1]);
        const alpha = gemm ? floatAttr(attrs, 'alpha', 1) : 1;
        if (alpha !== 1) weight = weight.map((v) => v * alpha);
        let bias: Float32Array | null = null;
        if (gemm && n.input[2]) {
          const beta = floatAttr(attrs, 'beta', 1);
          bias = broadcastVector(floats(2, 'bias'), outF, where).map((v) => v * beta);
        }
        emit({ op: 'Linear', name: out, inputs: [x], inFeatures: inF, outFeatures: outF, weight, bias }, out);
        break;
      }
      case 'Pad': {
        const x = value(0);
        const mode = stringAttr(attrs, 'mode', 'constant');
        if (mode !== 'constant') fail('UNSUPPORTED', `${where}: mode "${mode}"; relprop reads zero padding only`);
        let p: number[] | undefined;
        let fill = 0;
        if (opset < 11) {
          p = intsAttr(attrs, 'pads');
          fill = floatAttr(attrs, 'value', 0);
        } else {
          p = constant(1, 'pads')?.ints;
          if (n.input[2]) fill = floats(2, 'constant_value')[0] ?? 0;
          if (n.input[3]) fail('UNSUPPORTED', `${where}: the axes input`);
        }
        if (fill !== 0) fail('UNSUPPORTED', `${where}: pads with the value ${fill}; relprop reads zero padding only`);
        if (!p || p.length !== 8 || p[0] || p[1] || p[4] || p[5] || p.some((v) => v < 0)) {
          fail('UNSUPPORTED', `${where}: pads [${p}]; relprop reads non-negative padding of H and W only`);
        }
        emit({ op: 'Pad', name: out, inputs: [x], pads: [p[2], p[3], p[6], p[7]] }, out);
        break;
      }
      case 'Identity':
      case 'Dropout':
        // PyTorch's exporter names one initializer twice through an Identity (shared weights).
        if (n.opType === 'Identity' && constants.has(n.input[0])) constants.set(out, constants.get(n.input[0])!);
        else emit({ op: 'Identity', name: out, inputs: [value(0)] }, out);
        break;
      case 'Clip': {
        const x = value(0);
        // Before opset 11 the bounds are attributes; from 11 optional constant inputs.
        const bound = (i: number, attr: string, fallback: number) => (opset < 11 ? floatAttr(attrs, attr, fallback) : n.input[i] ? scalar(floats(i, attr), where, attr) : fallback);
        const [min, max] = [bound(1, 'min', -Infinity), bound(2, 'max', Infinity)];
        if (min === 0 && max === Infinity) emit({ op: 'ReLU', name: out, inputs: [x] }, out);
        else if (min === -Infinity && max === Infinity) emit({ op: 'Identity', name: out, inputs: [x] }, out);
        else emit({ op: 'Clip', name: out, inputs: [x], min, max }, out);
        break;
      }
      case 'LeakyRelu':
        emit({ op: 'LeakyReLU', name: out, inputs: [value(0)], alpha: floatAttr(attrs, 'alpha', 0.01) }, out);
        break;
      case 'Sigmoid':
        emit({ op: 'Sigmoid', name: out, inputs: [value(0)] }, out);
        break;
      case 'HardSigmoid':
        emit({ op: 'HardSigmoid', name: out, inputs: [value(0)], alpha: floatAttr(attrs, 'alpha', 0.2), beta: floatAttr(attrs, 'beta', 0.5) }, out);
        break;
      case 'HardSwish':
        emit({ op: 'HardSwish', name: out, inputs: [value(0)] }, out);
        break;
      case 'Mul': {
        if (n.input.length !== 2 || n.input.some((v) => constants.has(v))) fail('UNSUPPORTED', `${where} multiplies by a constant; relprop reads Mul only as x * sigmoid(x), x * hardsigmoid(x) or a per-channel gate`);
        const [a, b] = [value(0), value(1)];
        const product = mulOf(a, b, byName, shapeOf);
        if (!product) {
          fail('UNSUPPORTED', `${where} multiplies "${n.input[0]}" [${shapeOf(a)}] by "${n.input[1]}" [${shapeOf(b)}]; relprop reads Mul only as x * sigmoid(x) (SiLU), x * hardsigmoid(x) (HardSwish) or a squeeze-and-excitation gate (x times a per-channel Sigmoid or HardSigmoid of [C, 1, 1])`);
        }
        emit({ ...product, name: out } as GraphNode, out);
        break;
      }
      case 'ReduceMean': {
        const x = value(0);
        const xs = shapeOf(x);
        const axes = (opset < 18 ? intsAttr(attrs, 'axes') : n.input[1] ? constant(1, 'axes')?.ints : undefined)?.map((a) => (a < 0 ? a + 4 : a));
        if (xs.length !== 3 || !axes || axes.length !== 2 || !axes.includes(2) || !axes.includes(3)) fail('UNSUPPORTED', `${where}: a mean over axes [${axes ?? 'all'}] of a [N, ${xs}] tensor; relprop reads the spatial mean (axes 2 and 3) only`);
        if (intAttr(attrs, 'keepdims', 1) === 1) emit({ op: 'GlobalAvgPool', name: out, inputs: [x] }, out);
        else {
          emit({ op: 'GlobalAvgPool', name: `${out}.pool`, inputs: [x] }, `${out}.pool`);
          emit({ op: 'Flatten', name: out, inputs: [`${out}.pool`] }, out);
        }
        break;
      }
      case 'Concat': {
        const xs = n.input.map((_, i) => value(i));
        const rank = shapeOf(xs[0]).length + 1;
        const axis = intAttr(attrs, 'axis', 1);
        if (axis !== 1 && axis !== 1 - rank) fail('UNSUPPORTED', `${where}: axis=${axis}; relprop concatenates along channels (axis 1) only`);
        // DenseNet's first layer concatenates a list of one tensor.
        emit(xs.length === 1 ? { op: 'Identity', name: out, inputs: xs } : { op: 'Concat', name: out, inputs: xs }, out);
        break;
      }
      case 'Softmax': {
        const x = value(0);
        if (shapeOf(x).length !== 1) fail('UNSUPPORTED', `${where}: softmax over a [N, ${shapeOf(x)}] tensor; relprop reads a softmax over the class logits only`);
        emit({ op: 'Softmax', name: out, inputs: [x] }, out);
        break;
      }
      default:
        fail('UNSUPPORTED', `${where}: operator "${n.opType}" is not supported; relprop reads ${ONNX_OPERATORS.join(', ')}`);
    }
  }

  if (g.output.length < 1) fail('BAD_MODEL', 'ONNX graph declares no output');
  const output = alias.get(g.output[0].name);
  if (output === undefined) fail('BAD_MODEL', `ONNX graph output "${g.output[0].name}" is not produced by any node`);
  const softmaxes = nodes.filter((x) => x.op === 'Softmax');
  if (softmaxes.some((s) => s.name !== output)) fail('UNSUPPORTED', `ONNX model applies Softmax ("${softmaxes[0].name}") before its output; relprop explains logits and reads a Softmax only as the last node`);
  // x * Sigmoid(x) read as SiLU leaves the Sigmoid unread: only what the output depends on is kept.
  const live = new Set([output]);
  for (let i = nodes.length - 1; i >= 0; i--) if (live.has(nodes[i].name)) for (const src of nodes[i].inputs) live.add(src);
  try {
    return new Graph(input, nodes.filter((node) => live.has(node.name)), output);
  } catch (e) {
    if (e instanceof RelpropError) throw new RelpropError(e.code, `ONNX model: ${e.message}`);
    throw e;
  }
}

/** A bound given as a one-value tensor. */
function scalar(v: Float32Array, where: string, what: string): number {
  if (v.length !== 1) fail('BAD_MODEL', `${where}: ${what} has ${v.length} values; it must be one number`);
  return v[0];
}

/**
 * What a product of two values is, from what computes them: x * Sigmoid(x) is SiLU (how PyTorch exports
 * it before opset 14), x * HardSigmoid(x; 1/6, 1/2) HardSwish, and x * g with g a Sigmoid or HardSigmoid
 * of one value per channel ([C, 1, 1] against x's [C, H, W]) a gate (src/ops/gate.ts). Anything else
 * is no op relprop has a rule for: null.
 */
function mulOf(a: string, b: string, byName: Map<string, GraphNode>, shapeOf: (name: string) => Shape): Omit<GraphNode, 'name'> | null {
  for (const [x, g] of [[a, b], [b, a]]) {
    const gate = byName.get(g);
    if (!gate || (gate.op !== 'Sigmoid' && gate.op !== 'HardSigmoid')) continue;
    if (gate.inputs[0] === x) {
      if (gate.op === 'Sigmoid') return { op: 'SiLU', inputs: [x] };
      if (Math.abs(gate.alpha - 1 / 6) < 1e-6 && gate.beta === 0.5) return { op: 'HardSwish', inputs: [x] };
    }
    const [xs, gs] = [shapeOf(x), shapeOf(g)];
    if (xs.length === 3 && gs.length === 3 && gs[0] === xs[0] && gs[1] === 1 && gs[2] === 1) return { op: 'Gate', inputs: [x, g] };
  }
  return null;
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
