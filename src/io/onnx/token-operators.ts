/**
 * The ONNX operators of a vision transformer as PyTorch exports one (torchvision's VisionTransformer):
 * tokens and heads moved (Reshape, Transpose, Gather, Slice, Concat with a class token), LayerNormalization,
 * Gelu (the exporter's Erf form is fused into one first: fusions.ts), products of two values, a softmax
 * inside the model. They work on whole ONNX shapes (node.ts `wholeValue`): PyTorch's attention moves
 * the batch axis among the others ([T, 1, D]), and with the batch of 1 the export is made for, a
 * sample's values are the whole tensor's.
 */
import { fail } from '../../errors.js';
import type { Shape } from '../../graph/shapes.js';
import type { Constant } from './tensors.js';
import type { OnnxOp } from './node.js';
import { FOLDERS } from './folding.js';

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
const ints = (c: Constant | undefined, op: OnnxOp, what: string): number[] => {
  if (!c?.ints) fail('UNSUPPORTED', `${op.where}: ${what} must be integer constants (computed shapes are folded only from constants)`);
  return c.ints;
};

/** Shape of a value: a constant, as the model's input size fixes it (the folder of a constant's Shape). */
export function shape(op: OnnxOp): null {
  op.r.constants.set(op.out, FOLDERS.Shape([{ dims: op.onnxShape(op.value(0, true)) }], op, op.where));
  return null;
}

export function transpose(op: OnnxOp): string {
  const x = op.wholeValue(0);
  const rank = op.shapeOf(x).length;
  const perm = op.ints('perm') ?? Array.from({ length: rank }, (_, i) => rank - 1 - i);
  return op.emitWhole({ op: 'Transpose', name: op.out, inputs: [x], perm });
}

/** A reshape other than to [N, features] (operators.ts reshape): on whole shapes, 0 copying a dimension, -1 the rest. */
export function reshapeWhole(op: OnnxOp, target: number[]): string {
  const x = op.wholeValue(0);
  const from = op.shapeOf(x);
  const dims = target.map((d, i) => (d === 0 ? from[i] : d));
  const known = size(dims.filter((d) => d !== -1));
  const resolved = dims.map((d) => (d === -1 ? size(from) / known : d));
  if (size(resolved) !== size(from) || resolved.some((d) => !Number.isInteger(d) || d < 1)) {
    // An export traced with a batch of 2 or more writes that batch into its reshapes: relprop reads batch 1.
    const batch = Number.isInteger(size(resolved) / size(from)) && size(resolved) > size(from) ? '; a model exported with a fixed batch larger than 1 does this: export it with a batch of 1 (or a dynamic batch axis)' : '';
    fail('BAD_MODEL', `${op.where} reshapes [${from}] to [${target}]${batch}`);
  }
  return op.emitWhole({ op: 'Reshape', name: op.out, inputs: [x], shape: resolved });
}

/** Gather of one index along an axis: that position, the axis dropped (a ViT's class token read out). */
export function gather(op: OnnxOp): string {
  const x = op.wholeValue(0);
  const index = op.constant(1, 'indices');
  const idx = ints(index, op, 'indices');
  if (idx.length !== 1 || index!.dims.length !== 0) fail('UNSUPPORTED', `${op.where}: Gather of [${idx}] (indices of shape [${index!.dims}]); relprop reads Gather of one index`);
  const s = op.shapeOf(x);
  const axis = op.graphAxis(x, op.int('axis', 0));
  return op.emitWhole({ op: 'Take', name: op.out, inputs: [x], axis, index: idx[0] < 0 ? idx[0] + s[axis] : idx[0] });
}

/** Slice of one axis, step 1 (q, k and v of one projection). */
export function slice(op: OnnxOp): string {
  const x = op.wholeValue(0);
  const s = op.shapeOf(x);
  const read = (i: number, attr: string) => (op.opset < 10 ? op.ints(attr) : op.n.input[i] ? ints(op.constant(i, attr), op, attr) : undefined);
  const [starts, ends, axes, steps] = [read(1, 'starts'), read(2, 'ends'), read(3, 'axes') ?? [0], read(4, 'steps') ?? [1]];
  if (!starts || !ends || starts.length !== 1 || ends.length !== 1 || axes.length !== 1 || steps[0] !== 1) {
    fail('UNSUPPORTED', `${op.where}: starts [${starts}], ends [${ends}], axes [${axes}], steps [${steps}]; relprop reads slices of one axis, step 1`);
  }
  const axis = op.graphAxis(x, axes[0]);
  const clamp = (v: number) => Math.min(s[axis], Math.max(0, v < 0 ? v + s[axis] : v));
  return op.emitWhole({ op: 'Slice', name: op.out, inputs: [x], axis, start: clamp(starts[0]), end: clamp(ends[0]) });
}

/**
 * Split along one axis (timm's q, k and v by unbind, exported as Split and Squeeze): each output a
 * Slice of its own, in equal parts unless the split sizes are given.
 */
export function split(op: OnnxOp): string {
  const x = op.wholeValue(0);
  const axis = op.graphAxis(x, op.int('axis', 0));
  const length = op.shapeOf(x)[axis];
  const count = op.n.output.length;
  const given = op.opset < 13 ? op.ints('split') : op.n.input[1] ? ints(op.constant(1, 'split'), op, 'split') : undefined;
  const part = Math.ceil(length / count);
  const sizes = given ?? Array.from({ length: count }, (_, i) => Math.max(0, Math.min(part, length - i * part)));
  if (sizes.length !== count || sizes.some((v) => !Number.isInteger(v) || v < 0) || sizes.reduce((a, b) => a + b, 0) !== length) {
    fail('BAD_MODEL', `${op.where}: sizes [${sizes}] do not split an axis of ${length} into ${count} outputs`);
  }
  let start = 0;
  op.n.output.forEach((name, i) => {
    if (name && (i === 0 || op.r.readers.has(name))) op.r.alias.set(name, op.emitWhole({ op: 'Slice', name, inputs: [x], axis, start, end: start + sizes[i] }));
    start += sizes[i];
  });
  return op.r.alias.get(op.out)!;
}

/**
 * Concat of one value and constants before and after it (a class token, and a DeiT's distillation token,
 * before the patch tokens): the constants on each side joined into one, each side a ConstantConcat.
 */
export function concatConstant(op: OnnxOp): string {
  const inputs = op.n.input.map((_, i) => i);
  const values = inputs.filter((i) => !op.isConstant(i));
  if (values.length !== 1) fail('UNSUPPORTED', `${op.where}: a Concat of ${op.n.input.length} inputs, ${values.length} of them computed; relprop reads one computed value joined with constants`);
  const [k] = values;
  let x = op.wholeValue(k);
  const axis = op.graphAxis(x, op.int('axis', 0));
  const sides = [
    { at: 'start' as const, of: inputs.slice(0, k) },
    { at: 'end' as const, of: inputs.slice(k + 1) },
  ].filter((side) => side.of.length > 0);
  sides.forEach((side, i) => {
    const { floats, dims } = joinConstants(op, side.of, axis);
    x = op.emitWhole({ op: 'ConstantConcat', name: i === sides.length - 1 ? op.out : op.r.fresh(`${op.out}:${side.at}`), inputs: [x], axis, constant: floats, constantShape: dims, at: side.at });
  });
  return x;
}

/** Constant inputs of a Concat joined along its axis, in order. */
function joinConstants(op: OnnxOp, indices: number[], axis: number): { floats: Float32Array; dims: number[] } {
  const parts = indices.map((i) => {
    const c = op.constant(i, 'constant')!;
    if (!c.floats) fail('BAD_MODEL', `${op.where}: the constant must be float`);
    return { floats: c.floats, dims: c.dims };
  });
  const dims = [...parts[0].dims];
  if (parts.some((p) => p.dims.length !== dims.length || p.dims.some((d, i) => i !== axis && d !== dims[i]))) fail('BAD_MODEL', `${op.where}: constants of shapes ${parts.map((p) => `[${p.dims}]`).join(', ')} do not join along axis ${axis}`);
  dims[axis] = parts.reduce((a, p) => a + p.dims[axis], 0);
  const outer = dims.slice(0, axis).reduce((a, b) => a * b, 1);
  const floats = new Float32Array(dims.reduce((a, b) => a * b, 1));
  let at = 0;
  for (let o = 0; o < outer; o++) {
    for (const p of parts) {
      const block = p.floats.length / outer;
      floats.set(p.floats.subarray(o * block, (o + 1) * block), at);
      at += block;
    }
  }
  return { floats, dims };
}

export function layerNormalization(op: OnnxOp): string {
  const x = op.wholeValue(0);
  const s = op.shapeOf(x);
  const axis = op.graphAxis(x, op.int('axis', -1));
  if (axis !== s.length - 1) fail('UNSUPPORTED', `${op.where}: normalizes from axis ${op.int('axis', -1)} of [${op.onnxShape(x)}]; relprop reads the last axis only`);
  const features = s[axis];
  const weight = op.floats(1, 'scale');
  const bias = op.n.input[2] ? op.floats(2, 'bias') : null;
  return op.emitWhole({ op: 'LayerNorm', name: op.out, inputs: [x], features, weight: expand(weight, features, op), bias: bias && expand(bias, features, op), epsilon: op.float('epsilon', 1e-5) });
}

/** Gelu (opset 20, or the Erf form fused by fusions.ts). */
export function gelu(op: OnnxOp): string {
  const approximate = op.string('approximate', 'none');
  if (approximate !== 'none' && approximate !== 'tanh') fail('UNSUPPORTED', `${op.where}: approximate "${approximate}"`);
  return op.emitWhole({ op: 'GELU', name: op.out, inputs: [op.wholeValue(0)], approximate });
}

/** The product of two values over their leading axes (Q K^T, A V). */
export function matMulValues(op: OnnxOp): string {
  const [a, b] = [op.wholeValue(0), op.wholeValue(1)];
  return op.emitWhole({ op: 'MatMul', name: op.out, inputs: [a, b] });
}

/** x W (+ b) of a value of any rank by a [K, N] constant: a Linear on its last axis. */
export function matMulConstant(op: OnnxOp): string {
  const x = op.wholeValue(0);
  const w = op.constant(1, 'weight');
  if (!w?.floats || w.dims.length !== 2) fail('UNSUPPORTED', `${op.where}: a weight of shape [${w?.dims}]; relprop reads MatMul by a matrix`);
  const [inF, outF] = w.dims;
  const weight = new Float32Array(inF * outF);
  for (let i = 0; i < inF; i++) for (let o = 0; o < outF; o++) weight[o * inF + i] = w.floats[i * outF + o];
  return op.emitWhole({ op: 'Linear', name: op.out, inputs: [x], inFeatures: inF, outFeatures: outF, weight, bias: null });
}

/** A softmax over the last axis of a value inside the model (attention weights). */
export function softmaxInner(op: OnnxOp): string {
  const x = op.wholeValue(0);
  const s: Shape = op.shapeOf(x);
  // Before opset 13 the default axis is 1, over all the axes from it flattened: the last axis only if given.
  if (op.opset < 13 && !op.attrs.has('axis')) fail('UNSUPPORTED', `${op.where}: a softmax without an axis before opset 13 (over axes 1 and after, flattened); relprop reads softmax over the last axis`);
  const axis = op.graphAxis(x, op.int('axis', -1));
  if (axis !== s.length - 1) fail('UNSUPPORTED', `${op.where}: a softmax over axis ${op.int('axis', -1)} of [${op.onnxShape(x)}]; relprop reads softmax over the last axis`);
  return op.emitWhole({ op: 'Softmax', name: op.out, inputs: [x] });
}

/**
 * x + c of a value and a constant of its shape (or one that broadcasts to it): a position embedding;
 * a bias of the Linear before it where it is one value a feature and nothing else reads that Linear.
 */
export function addConstant(op: OnnxOp, k: number, sign: 1 | -1): string {
  const x = op.wholeValue(1 - k);
  const c = op.constant(k, 'constant')!;
  if (!c.floats) fail('BAD_MODEL', `${op.where}: the constant must be float`);
  const s = op.shapeOf(x);
  const values = sign === 1 ? c.floats : c.floats.map((v) => -v);
  const producer = op.r.emitter.byName.get(x);
  const lastAxisOnly = c.dims.slice(0, -1).every((d) => d === 1) && c.dims[c.dims.length - 1] === s[s.length - 1];
  if (lastAxisOnly && producer?.op === 'Linear' && !producer.bias && op.readOnce(producer.name)) {
    producer.bias = Float32Array.from(values);
    return x;
  }
  // The constant broadcast to the value's shape, aligned on the right.
  if (c.dims.length > s.length || c.dims.some((d, i) => d !== 1 && d !== s[s.length - c.dims.length + i])) fail('UNSUPPORTED', `${op.where}: a constant of [${c.dims}] on a [${op.onnxShape(x)}] value`);
  const full = new Float32Array(size(s));
  const cs = [...Array(s.length - c.dims.length).fill(1), ...c.dims];
  const at = new Array<number>(s.length).fill(0);
  for (let i = 0; i < full.length; i++) {
    let j = 0;
    for (let d = 0; d < s.length; d++) j = j * cs[d] + (cs[d] === 1 ? 0 : at[d]);
    full[i] = values[j];
    for (let d = s.length - 1; d >= 0; d--) {
      if (++at[d] < s[d]) break;
      at[d] = 0;
    }
  }
  return op.emitWhole({ op: 'AddConstant', name: op.out, inputs: [x], constant: full });
}

function expand(v: Float32Array, n: number, op: OnnxOp): Float32Array {
  if (v.length === n) return Float32Array.from(v);
  if (v.length === 1) return new Float32Array(n).fill(v[0]);
  return fail('BAD_MODEL', `${op.where}: ${v.length} values for ${n} features`);
}
