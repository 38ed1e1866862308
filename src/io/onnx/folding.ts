/**
 * ONNX operators computed at import when every input is a constant: the shape arithmetic PyTorch's
 * exporter leaves in (Shape of a value, Gather of its dimensions, Add/Div/Mul of them, ConstantOfShape,
 * Equal, Where, Concat, Unsqueeze) and a constant expanded to the batch (a ViT's class token, Expand).
 * The model's input size is fixed at import, so all of it is known there. Results are constants, as an
 * initializer is; nothing reaches the graph.
 */
import { fail } from '../../errors.js';
import type { OnnxOp } from './node.js';
import type { Constant } from './tensors.js';

type Values = number[];
const valuesOf = (c: Constant): Values => (c.ints ? c.ints : Array.from(c.floats ?? []));
const isInt = (c: Constant) => c.ints !== undefined;
const size = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);

/** Numpy's broadcast of shapes (aligned on the right), or an error naming where. */
function broadcast(shapes: readonly (readonly number[])[], where: string): number[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  return Array.from({ length: rank }, (_, i) => {
    const ds = shapes.map((s) => s[s.length - rank + i] ?? 1);
    const big = Math.max(...ds);
    if (ds.some((d) => d !== 1 && d !== big)) fail('BAD_MODEL', `${where}: shapes ${shapes.map((s) => `[${s}]`).join(', ')} do not broadcast`);
    return big;
  });
}

/** out[i] = f(a[i'], b[i'], ...) over the broadcast shape. */
function elementwise(cs: Constant[], where: string, f: (...v: number[]) => number, ints: boolean): Constant {
  const dims = broadcast(cs.map((c) => c.dims), where);
  const n = size(dims);
  if (n > 1 << 24) fail('BAD_MODEL', `${where}: a constant of ${n} values computed at import`);
  const vals = cs.map(valuesOf);
  const out = new Array<number>(n);
  const at = new Array<number>(dims.length).fill(0);
  for (let i = 0; i < n; i++) {
    out[i] = f(
      ...cs.map((c, k) => {
        let j = 0;
        const off = dims.length - c.dims.length;
        for (let d = 0; d < c.dims.length; d++) j = j * c.dims[d] + (c.dims[d] === 1 ? 0 : at[d + off]);
        return vals[k][j];
      }),
    );
    for (let d = dims.length - 1; d >= 0; d--) {
      if (++at[d] < dims[d]) break;
      at[d] = 0;
    }
  }
  return ints ? { dims, ints: out } : { dims, floats: Float32Array.from(out) };
}

/** Integer division as ONNX's Div of integers: truncation toward zero. */
const divide = (a: number, b: number, ints: boolean) => (ints ? Math.trunc(a / b) : a / b);

export type Folder = (inputs: Constant[], op: OnnxOp, where: string) => Constant;

export const FOLDERS: Record<string, Folder> = {
  Add: (cs, _, where) => elementwise(cs, where, (a, b) => a + b, cs.every(isInt)),
  Sub: (cs, _, where) => elementwise(cs, where, (a, b) => a - b, cs.every(isInt)),
  Mul: (cs, _, where) => elementwise(cs, where, (a, b) => a * b, cs.every(isInt)),
  Div: (cs, _, where) => elementwise(cs, where, (a, b) => divide(a, b, cs.every(isInt)), cs.every(isInt)),
  Equal: (cs, _, where) => elementwise(cs, where, (a, b) => (a === b ? 1 : 0), true),
  Where: (cs, _, where) => elementwise(cs, where, (c, a, b) => (c ? a : b), isInt(cs[1]) && isInt(cs[2])),
  Cast: ([c], attrs) => {
    // TensorProto FLOAT is 1; the integer and boolean types hold integers.
    const to = attrs.int('to', 1);
    return to === 1 || to === 10 || to === 11 ? { dims: c.dims, floats: Float32Array.from(valuesOf(c)) } : { dims: c.dims, ints: valuesOf(c).map(Math.trunc) };
  },
  ConstantOfShape: ([shape], op, where) => {
    const dims = valuesOf(shape);
    if (dims.some((d) => !Number.isInteger(d) || d < 0) || size(dims) > 1 << 24) fail('BAD_MODEL', `${where}: shape [${dims}]`);
    // Its value: a one-element tensor attribute, float 0 without one.
    const t = op.attrs.get('value')?.t;
    const value = t ? op.r.reader.read(t, `${where} value`) : { dims: [1], floats: Float32Array.of(0) };
    const v = valuesOf(value)[0] ?? 0;
    return isInt(value) ? { dims, ints: new Array(size(dims)).fill(v) } : { dims, floats: new Float32Array(size(dims)).fill(v) };
  },
  Expand: ([c, shape], _, where) => {
    const to = valuesOf(shape);
    const dims = broadcast([c.dims, to], where);
    if (dims.some((d) => !Number.isInteger(d) || d < 0) || size(dims) > 1 << 24) fail('BAD_MODEL', `${where}: a constant expanded to [${dims}]`);
    return elementwise([c, { dims, ints: new Array(size(dims)).fill(0) }], where, (v) => v, isInt(c));
  },
  Shape: ([c]) => ({ dims: [c.dims.length], ints: [...c.dims] }),
  Concat: (cs, attrs, where) => {
    const rank = cs[0].dims.length;
    const axis = (attrs.int('axis', 0) + rank) % rank;
    if (cs.some((c) => c.dims.length !== rank || c.dims.some((d, i) => i !== axis && d !== cs[0].dims[i]))) fail('BAD_MODEL', `${where}: constants of shapes ${cs.map((c) => `[${c.dims}]`).join(', ')} along axis ${axis}`);
    const outer = size(cs[0].dims.slice(0, axis));
    const out: number[] = [];
    for (let o = 0; o < outer; o++) {
      for (const c of cs) {
        const inner = size(c.dims.slice(axis));
        out.push(...valuesOf(c).slice(o * inner, (o + 1) * inner));
      }
    }
    const dims = cs[0].dims.map((d, i) => (i === axis ? cs.reduce((s, c) => s + c.dims[i], 0) : d));
    return cs.every(isInt) ? { dims, ints: out } : { dims, floats: Float32Array.from(out) };
  },
  Gather: ([data, indices], attrs, where) => {
    const rank = data.dims.length;
    const axis = (attrs.int('axis', 0) + rank) % rank;
    const idx = valuesOf(indices).map((i) => (i < 0 ? i + data.dims[axis] : i));
    if (idx.some((i) => i < 0 || i >= data.dims[axis])) fail('BAD_MODEL', `${where}: indices [${valuesOf(indices)}] outside an axis of ${data.dims[axis]}`);
    const [outer, inner] = [size(data.dims.slice(0, axis)), size(data.dims.slice(axis + 1))];
    const v = valuesOf(data);
    const out: number[] = [];
    for (let o = 0; o < outer; o++) for (const i of idx) out.push(...v.slice((o * data.dims[axis] + i) * inner, (o * data.dims[axis] + i + 1) * inner));
    const dims = [...data.dims.slice(0, axis), ...indices.dims, ...data.dims.slice(axis + 1)];
    return isInt(data) ? { dims, ints: out } : { dims, floats: Float32Array.from(out) };
  },
  Unsqueeze: ([c, axesInput], attrs) => {
    const axes = (axesInput ? valuesOf(axesInput) : attrs.ints('axes') ?? []).map((a) => (a < 0 ? a + c.dims.length + 1 : a)).sort((a, b) => a - b);
    const dims = [...c.dims];
    for (const a of axes) dims.splice(a, 0, 1);
    return { ...c, dims };
  },
  Squeeze: ([c, axesInput], attrs) => {
    const axes = (axesInput ? valuesOf(axesInput) : attrs.ints('axes'))?.map((a) => (a < 0 ? a + c.dims.length : a));
    return { ...c, dims: c.dims.filter((d, i) => (axes ? !axes.includes(i) : d !== 1)) };
  },
  Reshape: ([c, shape], _, where) => {
    const target = valuesOf(shape).map((d, i) => (d === 0 ? c.dims[i] : d));
    const known = size(target.filter((d) => d !== -1));
    const dims = target.map((d) => (d === -1 ? size(c.dims) / known : d));
    if (size(dims) !== size(c.dims) || dims.some((d) => !Number.isInteger(d) || d < 0)) fail('BAD_MODEL', `${where}: a constant of [${c.dims}] cannot be reshaped to [${valuesOf(shape)}]`);
    return { ...c, dims };
  },
};
