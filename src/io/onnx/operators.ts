/**
 * Each ONNX operator relprop reads, as a function from the node (OnnxOp) to the graph value that holds
 * its output; the importer's operator list is this table's keys. Patterns that are one op of relprop's
 * (a gate, a bias, a clip, a global pool) go through the shared rewrites (src/io/rewrites.ts).
 */
import { fail } from '../../errors.js';
import type { GraphNode } from '../../graph/nodes.js';
import { clip, constantAffine, globalPool, product, type ConstantOp } from '../rewrites.js';
import { transpose2d } from '../tensor.js';
import type { OnnxOp } from './node.js';
import { conv, pad, pool } from './window-operators.js';
import { addConstant, concatConstant, gather, gelu, layerNormalization, matMulConstant, matMulValues, reshapeWhole, shape, slice, softmaxInner, split, transpose } from './token-operators.js';
import type { Constant } from './tensors.js';

export type Converter = (op: OnnxOp) => string | null;

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

function batchNormalization(op: OnnxOp): string {
  if (op.opset < 9 && op.int('spatial', 1) !== 1) fail('UNSUPPORTED', `${op.where}: spatial=0 (per-activation statistics)`);
  if (op.int('training_mode', 0) !== 0) fail('UNSUPPORTED', `${op.where}: training_mode=1; export the model in eval mode`);
  const x = op.value(0);
  const channels = op.shapeOf(x)[0];
  const [gamma, beta, mean, variance] = [op.floats(1, 'scale'), op.floats(2, 'bias'), op.floats(3, 'mean'), op.floats(4, 'variance')];
  return op.emit({ op: 'BatchNorm', name: op.out, inputs: [x], channels, gamma, beta, mean, variance, epsilon: op.float('epsilon', 1e-5) });
}

/** Add/Sum of values; Add/Sub/Mul/Div of one value and a constant (rewrites.ts); Mul of two values as a gate. */
const arithmetic = (kind: ConstantOp): Converter => (op) => {
  const { n, where } = op;
  const constant = n.input.map((_, i) => op.isConstant(i));
  const whole = n.input.some((v, i) => !constant[i] && op.r.whole.has(op.r.alias.get(v) ?? ''));
  if (!constant.some(Boolean)) {
    if (n.input.length === 1) return op.value(0);
    // Values of a transformer's tokens: added as whole ONNX shapes (the residual sums).
    if (kind === 'add' && whole) return op.emitWhole({ op: 'Add', name: op.out, inputs: n.input.map((_, i) => op.wholeValue(i)) });
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
  const c0 = op.constant(k, 'constant')!;
  if (whole) {
    // A number multiplying (dividing) a whole value scales it as a per-channel map does; one added and
    // any tensor are added as a constant of its shape.
    if ((c0.floats?.length ?? 0) === 1 && (kind === 'mul' || kind === 'div')) {
      const held = constantAffine(op.r.emitter, op.out, op.wholeValue(1 - k), kind, c0.floats!, op.readOnce, where);
      op.r.whole.add(held);
      return held;
    }
    if (kind === 'add' || kind === 'sub') return addConstant(op, k, kind === 'add' ? 1 : -1);
    fail('UNSUPPORTED', `${where}: ${n.opType} of a [${op.onnxShape(op.value(1 - k, true))}] value by a constant of [${c0.dims}]; relprop reads a number, or adds a tensor`);
  }
  const x = op.value(1 - k);
  const c = op.perChannel(k, x);
  // Adding zeros (an exporter's leftover) or multiplying by ones is no layer.
  if (c.every((v) => v === (kind === 'add' || kind === 'sub' ? 0 : 1))) return x;
  return constantAffine(op.r.emitter, op.out, x, kind, c, op.readOnce, where);
};

function reshape(op: OnnxOp): string {
  const { n, where } = op;
  const held = op.value(0, true);
  if (op.r.whole.has(held)) {
    // A value held whole (a transformer's): its reshape, or its squeeze (timm's q, k and v after a Split), on its ONNX shape.
    if (n.opType === 'Reshape') return reshapeWhole(op, ints(op.constant(1, 'shape'), where));
    const s = op.shapeOf(held);
    const axes = (n.input[1] ? op.constant(1, 'axes')?.ints : op.ints('axes'))?.map((a) => (a < 0 ? a + s.length : a)) ?? s.flatMap((d, i) => (d === 1 ? [i] : []));
    if (axes.some((a) => s[a] !== 1)) fail('BAD_MODEL', `${where} squeezes axes [${axes}] of [${s}], not all of size 1`);
    return reshapeWhole(op, s.filter((_, i) => !axes.includes(i)));
  }
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
  // Any other reshape (a transformer's tokens and heads) runs on whole ONNX shapes.
  if (!ok && n.opType === 'Reshape') return reshapeWhole(op, target);
  if (!ok) fail('UNSUPPORTED', `${where} reshapes [N, ${xs}] to [${target}]; relprop reads reshapes to [N, ${per}] only`);
  return op.emit({ op: xs.length === 1 ? 'Identity' : 'Flatten', name: op.out, inputs: [x] });
}

function gemm(op: OnnxOp): string {
  const { where } = op;
  const isGemm = op.n.opType === 'Gemm';
  if (!isGemm && !op.isConstant(1)) return matMulValues(op);
  // A value held whole (a transformer's [T, D] tokens): the layer on each row.
  const whole = op.r.whole.has(op.value(0, true));
  if (!isGemm && (whole || op.shapeOf(op.value(0)).length > 1)) return matMulConstant(op);
  const x = whole ? op.wholeValue(0) : op.value(0);
  const xs = op.shapeOf(x);
  if (xs.length !== 1 && !whole) fail('UNSUPPORTED', `${where} multiplies a [N, ${xs}] tensor; relprop reads ${op.n.opType} on flat [N, features] inputs`);
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
  const linear: GraphNode = { op: 'Linear', name: op.out, inputs: [x], inFeatures: inF, outFeatures: outF, weight, bias };
  return whole ? op.emitWhole(linear) : op.emit(linear);
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
  const rank = xs.length + 1;
  const axes = (op.opset < 18 ? op.ints('axes') : op.n.input[1] ? op.constant(1, 'axes')?.ints : undefined)?.map((a) => (a < 0 ? a + rank : a));
  if (xs.length !== 3 || !axes || axes.length !== 2 || !axes.includes(2) || !axes.includes(3)) {
    // On a transformer's [N, tokens, features]: a mean-pooled head, or a LayerNorm written out otherwise than PyTorch's.
    const tokens = rank === 3 ? "; a mean over a transformer's tokens (a mean-pooled head, timm's global_pool='avg') is not supported, nor a LayerNorm written out in another form than PyTorch's" : '';
    fail('UNSUPPORTED', `${op.where}: a ${kind} over axes [${axes ?? 'all'}] of a [N, ${xs}] tensor; relprop reads the spatial ${kind} of a feature map (axes 2 and 3 of [N, C, H, W]) only${tokens}`);
  }
  return globalPool(op.r.emitter, op.out, x, kind, op.int('keepdims', 1) === 1, op.where);
};

function concat(op: OnnxOp): string {
  if (op.n.input.some((_, i) => op.isConstant(i))) return concatConstant(op);
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
  if (op.r.whole.has(op.value(0, true))) return softmaxInner(op);
  const x = op.value(0);
  if (op.shapeOf(x).length !== 1) fail('UNSUPPORTED', `${op.where}: softmax over a [N, ${op.shapeOf(x)}] tensor; relprop reads a softmax over the class logits only`);
  return op.emit({ op: 'Softmax', name: op.out, inputs: [x] });
}

/** Each ONNX operator relprop reads, and how it becomes relprop's graph (null: a constant, no node). */
export const CONVERTERS: Record<string, Converter> = {
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
  Shape: shape,
  Transpose: transpose,
  Gather: gather,
  Slice: slice,
  Split: split,
  LayerNormalization: layerNormalization,
  Gelu: gelu,
};

export const ONNX_OPERATORS = Object.keys(CONVERTERS);

function ints(c: Constant | undefined, where: string): number[] {
  if (!c?.ints) fail('BAD_MODEL', `${where}: shape must be an integer tensor`);
  return c.ints;
}

/** A bound given as a one-value tensor. */
function scalar(v: Float32Array, where: string, what: string): number {
  if (v.length !== 1) fail('BAD_MODEL', `${where}: ${what} has ${v.length} values; it must be one number`);
  return v[0];
}
/** A bias given as one value for every output, or one value an output. */
function broadcastVector(c: Float32Array, length: number, where: string): Float32Array {
  if (c.length === length) return Float32Array.from(c);
  if (c.length === 1) return new Float32Array(length).fill(c[0]);
  return fail('BAD_MODEL', `${where}: a bias of ${c.length} values for ${length} outputs`);
}
