/**
 * Each TF op of a graph model relprop reads, as a function from the node (TfOp) to the value that holds
 * its output; the importer's op list is this table's keys. Patterns that are one op of relprop's (a bias,
 * a per-channel affine map, a gate, a clip, a global pool) go through the shared rewrites
 * (src/io/rewrites.ts).
 */
import { resolveInputShape } from '../input-shape.js';
import { fail } from '../../errors.js';
import type { GraphNode } from '../../graph/nodes.js';
import { clip, constantAffine, globalPool, product, type ConstantOp } from '../rewrites.js';
import { convKernelFromHWIO, denseKernelFromInOut, depthwiseKernelFromHWCM } from '../nhwc.js';
import { transpose2d } from '../tensor.js';
import { TfOp, type Value } from './tf-op.js';

/** An activation op of one map input. */
const activation = (node: (name: string, x: string, op: TfOp) => GraphNode) => (op: TfOp): Value => ({ map: op.emit(node(op.name, op.map(), op)) });

function placeholder(op: TfOp): Value {
  const { emitter, options } = op.r;
  if (emitter.inputName !== undefined) fail('UNSUPPORTED', `${op.where}: a second input ("${emitter.inputName}" is the first); relprop explains models with one image input`);
  const dims = (op.attr.shape?.shape?.dim ?? []).map((d) => Number(d.size ?? -1));
  if (dims.length !== 4) fail('UNSUPPORTED', `${op.where}: input of rank ${dims.length}; relprop needs an [N, H, W, C] image input`);
  const [, h, w, c] = dims.map((d) => (d >= 1 ? d : null));
  emitter.setInput(op.name, resolveInputShape([c, h, w], options, op.where));
  return { map: op.name };
}

function constNode(op: TfOp): Value {
  const w = op.r.weights.get(op.name);
  if (w) return { const: w };
  const t = op.attr.value?.tensor;
  const vals = t?.floatVal ?? t?.intVal;
  const shape = (t?.tensorShape?.dim ?? []).map((d) => Number(d.size));
  const count = shape.reduce((a, b) => a * b, 1);
  // Inline scalars or splats (a single value for every element), as TF writes them.
  if (vals && vals.length >= 1 && count <= 1 << 20 && (vals.length === count || vals.length === 1)) return { const: { shape, data: Float32Array.from({ length: count }, (_, k) => Number(vals[vals.length === 1 ? 0 : k])) } };
  return fail('BAD_MODEL', `${op.where}: its value is neither in the weights manifest nor inline`);
}

function conv(op: TfOp): Value {
  op.nhwc();
  const x = op.map();
  const [cin, h, w] = op.mapShape(x);
  const filter = op.constant(1);
  if (filter.shape.length !== 4) fail('BAD_MODEL', `${op.where}: filter of shape [${filter.shape}]`);
  const [kh, kw, fin, fout] = filter.shape;
  const stride = op.spatialPair('strides', 1);
  const dilation = op.spatialPair('dilations', 1);
  const pads = op.windowPads(h, w, [kh, kw], stride, dilation);
  const depthwise = op.n.op.includes('Depthwise');
  const groups = depthwise ? cin : cin / fin;
  if (depthwise ? fin !== cin : !Number.isInteger(groups) || groups < 1) fail('BAD_MODEL', `${op.where}: a [${filter.shape}] filter on ${cin} channels`);
  const cout = depthwise ? cin * fout : fout;
  const weight = depthwise ? depthwiseKernelFromHWCM(filter.data, kh, kw, cin, fout) : convKernelFromHWIO(filter.data, kh, kw, fin, fout);
  const layer = op.emit({ op: 'Conv2d', name: op.name, inputs: [x], inChannels: cin, outChannels: cout, kernel: [kh, kw], stride, pads, dilation, groups, weight, bias: null });
  return { map: op.n.op.includes('Fused') ? op.fused(layer, cout) : layer };
}

function matMul(op: TfOp): Value {
  if (op.attr.transpose_a?.b) fail('UNSUPPORTED', `${op.where}: transpose_a`);
  const x = op.map();
  const s = op.r.emitter.shape(x);
  if (s.length !== 1) fail('UNSUPPORTED', `${op.where} reads a [${s}] value; relprop reads MatMul on flat values`);
  const k = op.constant(1);
  const tb = op.attr.transpose_b?.b === true;
  const [nin, units] = tb ? [k.shape[1], k.shape[0]] : [k.shape[0], k.shape[1]];
  if (k.shape.length !== 2 || nin !== s[0]) fail('BAD_MODEL', `${op.where}: a [${k.shape}] matrix on ${s[0]} features`);
  const inOut = tb ? transpose2d(k.data, units, nin) : k.data;
  const linear = op.emit({ op: 'Linear', name: op.name, inputs: [x], inFeatures: nin, outFeatures: units, weight: denseKernelFromInOut(inOut, nin, units, op.r.flattenedFrom.get(x)), bias: null });
  return { map: op.n.op === '_FusedMatMul' ? op.fused(linear, units) : linear };
}

function batchNorm(op: TfOp): Value {
  op.nhwc();
  if (op.attr.is_training?.b) fail('UNSUPPORTED', `${op.where} is in training mode`);
  const x = op.map();
  const [ch] = op.mapShape(x);
  const [gamma, beta, mean, variance] = [1, 2, 3, 4].map((i) => op.constant(i, [ch]).data);
  return { map: op.emit({ op: 'BatchNorm', name: op.name, inputs: [x], channels: ch, gamma, beta, mean, variance, epsilon: op.attr.epsilon?.f ?? 1e-3 }) };
}

/** Add/Sub/Mul/RealDiv of a scalar or per-channel constant (rewrites.ts), or of two computed values. */
const arithmetic = (kind: ConstantOp) => (op: TfOp): Value => {
  const [a, b] = [op.arg(0), op.arg(1)];
  if ('map' in a && 'map' in b) {
    if (kind === 'add') return { map: op.emit({ op: 'Add', name: op.name, inputs: [a.map, b.map] }) };
    const gated = kind === 'mul' ? product(op.r.emitter, op.name, a.map, b.map) : null;
    if (gated) return { map: gated };
    return fail('UNSUPPORTED', `${op.where} of two computed values; relprop reads ${op.n.op} with a constant, sums of maps, and products that are SiLU, HardSwish or a per-channel gate`);
  }
  const { x, c, constantFirst } = op.mapAndConstant();
  if (constantFirst && (kind === 'sub' || kind === 'div' || op.n.op === 'BiasAdd')) fail('UNSUPPORTED', `${op.where}: a constant ${kind === 'sub' ? 'minus' : 'over'} a computed value`);
  return { map: constantAffine(op.r.emitter, op.name, x, kind, c.data, op.readOnce, op.where) };
};

/** Minimum/Maximum of a value and a scalar constant: a clip. */
const bound = (side: 'min' | 'max') => (op: TfOp): Value => {
  const { x, c } = op.mapAndConstant();
  if (c.data.length !== 1) fail('UNSUPPORTED', `${op.where}: against a constant of shape [${c.shape}]; relprop reads ${op.n.op} with one number (a clip)`);
  const v = c.data[0];
  return { map: clip(op.r.emitter, op.name, x, side === 'max' ? v : -Infinity, side === 'min' ? v : Infinity, op.readOnce) };
};

/** Mean or Max over axes 1 and 2 (H and W of NHWC): a global pool. */
const spatialReduce = (kind: 'mean' | 'max') => (op: TfOp): Value => {
  const x = op.map();
  op.mapShape(x);
  const axes = [...op.constant(1).data].map((a) => (a < 0 ? a + 4 : a)).sort();
  if (axes.length !== 2 || axes[0] !== 1 || axes[1] !== 2) fail('UNSUPPORTED', `${op.where}: a ${kind} over axes [${axes}]; relprop reads the spatial ${kind} (axes 1 and 2)`);
  return { map: globalPool(op.r.emitter, op.name, x, kind, op.attr.keep_dims?.b === true, op.where) };
};

function pool(op: TfOp): Value {
  op.nhwc();
  const x = op.map();
  const [, h, w] = op.mapShape(x);
  const kernel = op.spatialPair('ksize', 1);
  const stride = op.spatialPair('strides', 1);
  const pads = op.windowPads(h, w, kernel, stride, [1, 1]);
  if (op.n.op === 'MaxPool') return { map: op.emit({ op: 'MaxPool2d', name: op.name, inputs: [x], kernel, stride, pads }) };
  return { map: op.emit({ op: 'AvgPool2d', name: op.name, inputs: [x], kernel, stride, pads, countIncludePad: false }) };
}

function concat(op: TfOp): Value {
  const parts = op.ins.slice(0, -1).map((_, i) => op.map(i));
  const axis = op.constant(op.ins.length - 1).data[0];
  if (axis !== 3 && axis !== -1) fail('UNSUPPORTED', `${op.where}: concatenation along axis ${axis}; relprop concatenates channels (axis 3)`);
  for (const p of parts) op.mapShape(p);
  return { map: op.emit({ op: 'Concat', name: op.name, inputs: parts }) };
}

function reshape(op: TfOp): Value {
  const x = op.map();
  const s = op.r.emitter.shape(x);
  const count = s.reduce((a, b) => a * b, 1);
  const target = op.n.op === 'Reshape' ? [...op.constant(1).data] : null;
  const squeezed = op.n.op === 'Squeeze' ? op.ints('squeeze_dims').map((d) => (d < 0 ? d + 4 : d)).sort() : null;
  if (s.length === 3 && target && target.length === 2 && (target[1] === count || target[1] === -1)) {
    const flat = op.emit({ op: 'Flatten', name: op.name, inputs: [x] });
    if (s[1] > 1 || s[2] > 1) op.r.flattenedFrom.set(flat, [s[0], s[1], s[2]]);
    return { map: flat };
  }
  if (s.length === 3 && s[1] === 1 && s[2] === 1 && squeezed && (squeezed.length === 0 || (squeezed.length === 2 && squeezed[0] === 1 && squeezed[1] === 2))) return { map: op.emit({ op: 'Flatten', name: op.name, inputs: [x] }) };
  return fail('UNSUPPORTED', `${op.where}: ${target ? `a reshape of [${s}] to [${target}]` : `a squeeze of [${s}] over [${squeezed}]`}; relprop reads flattening ones`);
}

function pad(op: TfOp): Value {
  const x = op.map();
  op.mapShape(x);
  const p = op.constant(1, [4, 2]).data;
  if (p[0] || p[1] || p[6] || p[7]) fail('UNSUPPORTED', `${op.where}: padding of the batch or channel axis`);
  return { map: op.emit({ op: 'Pad', name: op.name, inputs: [x], pads: [p[2], p[4], p[3], p[5]] }) };
}

/** Each TF op relprop reads, and how it becomes relprop's graph. */
export const CONVERTERS: Record<string, (op: TfOp) => Value> = {
  Placeholder: placeholder,
  Const: constNode,
  Identity: (op) => op.arg(0),
  Conv2D: conv,
  _FusedConv2D: conv,
  DepthwiseConv2dNative: conv,
  FusedDepthwiseConv2dNative: conv,
  FusedBatchNorm: batchNorm,
  FusedBatchNormV2: batchNorm,
  FusedBatchNormV3: batchNorm,
  BiasAdd: arithmetic('add'),
  Add: arithmetic('add'),
  AddV2: arithmetic('add'),
  Sub: arithmetic('sub'),
  Mul: arithmetic('mul'),
  RealDiv: arithmetic('div'),
  Minimum: bound('min'),
  Maximum: bound('max'),
  Relu: activation((name, x) => ({ op: 'ReLU', name, inputs: [x] })),
  Relu6: activation((name, x) => ({ op: 'Clip', name, inputs: [x], min: 0, max: 6 })),
  LeakyRelu: activation((name, x, op) => ({ op: 'LeakyReLU', name, inputs: [x], alpha: op.attr.alpha?.f ?? 0.2 })),
  Sigmoid: activation((name, x) => ({ op: 'Sigmoid', name, inputs: [x] })),
  Tanh: activation((name, x) => ({ op: 'Tanh', name, inputs: [x] })),
  Softmax: activation((name, x) => ({ op: 'Softmax', name, inputs: [x] })),
  MaxPool: pool,
  AvgPool: pool,
  Mean: spatialReduce('mean'),
  Max: spatialReduce('max'),
  ConcatV2: concat,
  Reshape: reshape,
  Squeeze: reshape,
  MatMul: matMul,
  _FusedMatMul: matMul,
  Pad: pad,
};

export const GRAPH_MODEL_OPS = Object.keys(CONVERTERS);
