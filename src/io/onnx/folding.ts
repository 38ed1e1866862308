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
  limit(n, where);
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

/** The most values a constant computed at import may have (64 MB of float32). */
const MOST = 1 << 24;

function limit(n: number, where: string): void {
  if (!Number.isFinite(n) || n > MOST) fail('BAD_MODEL', `${where}: a constant of ${n} values computed at import (at most ${MOST})`);
}

function axisOf(axis: number, rank: number, where: string): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) fail('BAD_MODEL', `${where}: axis ${axis} of a constant of rank ${rank}`);
  return a;
}

/** Inputs each folder needs at least (the others are optional). */
const NEEDS: Record<string, number> = { Add: 2, Sub: 2, Mul: 2, Div: 2, Equal: 2, Where: 3, Cast: 1, ConstantOfShape: 1, Expand: 2, Concat: 1, Gather: 2, Unsqueeze: 1, Squeeze: 1, Reshape: 2, Shape: 1, Slice: 1 };

/** The folder of `opType` on constant inputs (a left-out optional input undefined), its inputs and result checked. */
export function fold(opType: string, inputs: (Constant | undefined)[], op: OnnxOp): Constant {
  const needs = NEEDS[opType] ?? 1;
  if (inputs.length < needs || inputs.slice(0, needs).some((c) => c === undefined) || (opType === 'Concat' && inputs.some((c) => c === undefined))) {
    fail('BAD_MODEL', `${op.where} lacks an input it needs (${needs} at least)`);
  }
  const out = FOLDERS[opType](inputs as Constant[], op, op.where);
  limit(size(out.dims), op.where);
  return out;
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
    if (dims.some((d) => !Number.isInteger(d) || d < 0)) fail('BAD_MODEL', `${where}: shape [${dims}]`);
    limit(size(dims), where);
    // Its value: a one-element tensor attribute, float 0 without one.
    const t = op.attrs.get('value')?.t;
    const value = t ? op.r.reader.read(t, `${where} value`) : { dims: [1], floats: Float32Array.of(0) };
    const v = valuesOf(value)[0] ?? 0;
    return isInt(value) ? { dims, ints: new Array(size(dims)).fill(v) } : { dims, floats: new Float32Array(size(dims)).fill(v) };
  },
  Expand: ([c, shape], _, where) => {
    const to = valuesOf(shape);
    const dims = broadcast([c.dims, to], where);
    if (dims.some((d) => !Number.isInteger(d) || d < 0)) fail('BAD_MODEL', `${where}: a constant expanded to [${dims}]`);
    limit(size(dims), where);
    return elementwise([c, { dims, ints: new Array(size(dims)).fill(0) }], where, (v) => v, isInt(c));
  },

  Concat: (cs, attrs, where) => {
    const rank = cs[0].dims.length;
    const axis = axisOf(attrs.int('axis', 0), rank, where);
    if (cs.some((c) => c.dims.length !== rank || c.dims.some((d, i) => i !== axis && d !== cs[0].dims[i]))) fail('BAD_MODEL', `${where}: constants of shapes ${cs.map((c) => `[${c.dims}]`).join(', ')} along axis ${axis}`);
    const outer = size(cs[0].dims.slice(0, axis));
    const dims = cs[0].dims.map((d, i) => (i === axis ? cs.reduce((s, c) => s + c.dims[i], 0) : d));
    limit(size(dims), where);
    const out: number[] = [];
    const vals = cs.map(valuesOf);
    for (let o = 0; o < outer; o++) {
      cs.forEach((c, k) => {
        const inner = size(c.dims.slice(axis));
        for (let j = o * inner; j < (o + 1) * inner; j++) out.push(vals[k][j]);
      });
    }
    return cs.every(isInt) ? { dims, ints: out } : { dims, floats: Float32Array.from(out) };
  },
  Gather: ([data, indices], attrs, where) => {
    const rank = data.dims.length;
    const axis = axisOf(attrs.int('axis', 0), rank, where);
    const idx = valuesOf(indices).map((i) => (i < 0 ? i + data.dims[axis] : i));
    if (idx.some((i) => i < 0 || i >= data.dims[axis])) fail('BAD_MODEL', `${where}: indices [${valuesOf(indices).slice(0, 8)}] outside an axis of ${data.dims[axis]}`);
    const [outer, inner] = [size(data.dims.slice(0, axis)), size(data.dims.slice(axis + 1))];
    const dims = [...data.dims.slice(0, axis), ...indices.dims, ...data.dims.slice(axis + 1)];
    limit(size(dims), where);
    const v = valuesOf(data);
    const out: number[] = [];
    for (let o = 0; o < outer; o++) for (const i of idx) for (let j = (o * data.dims[axis] + i) * inner; j < (o * data.dims[axis] + i + 1) * inner; j++) out.push(v[j]);
    return isInt(data) ? { dims, ints: out } : { dims, floats: Float32Array.from(out) };
  },
  Unsqueeze: ([c, axesInput], attrs, where) => {
    const rank = c.dims.length + (axesInput ? valuesOf(axesInput) : attrs.ints('axes') ?? []).length;
    const axes = (axesInput ? valuesOf(axesInput) : attrs.ints('axes') ?? []).map((a) => axisOf(a, rank, where)).sort((a, b) => a - b);
    const dims = [...c.dims];
    for (const a of axes) dims.splice(a, 0, 1);
    return { ...c, dims };
  },
  Squeeze: ([c, axesInput], attrs, where) => {
    const axes = (axesInput ? valuesOf(axesInput) : attrs.ints('axes'))?.map((a) => axisOf(a, c.dims.length, where));
    if (axes?.some((a) => c.dims[a] !== 1)) fail('BAD_MODEL', `${where}: squeezes axes [${axes}] of a constant of [${c.dims}], not all of size 1`);
    return { ...c, dims: c.dims.filter((d, i) => (axes ? !axes.includes(i) : d !== 1)) };
  },
  Shape: ([c], attrs) => {
    const r = c.dims.length;
    const clamp = (v: number) => Math.min(r, Math.max(0, v < 0 ? v + r : v));
    const dims = c.dims.slice(clamp(attrs.int('start', 0)), clamp(attrs.int('end', r)));
    return { dims: [dims.length], ints: dims };
  },
  // Step 1 or -1 and more along each axis given (opset 10 and later; before it, attributes).
  Slice: ([c, startsIn, endsIn, axesIn, stepsIn], attrs, where) => {
    const read = (input: Constant | undefined, attr: string) => (input ? valuesOf(input) : attrs.ints(attr));
    const [starts, ends] = [read(startsIn, 'starts'), read(endsIn, 'ends')];
    if (!starts || !ends || starts.length !== ends.length) fail('BAD_MODEL', `${where}: starts and ends must be given, one each an axis`);
    const axes = (read(axesIn, 'axes') ?? starts.map((_, i) => i)).map((a) => axisOf(a, c.dims.length, where));
    const steps = stepsIn ? valuesOf(stepsIn) : starts.map(() => 1);
    if (steps.some((st) => st === 0 || !Number.isInteger(st))) fail('BAD_MODEL', `${where}: steps [${steps}]`);
    const picks = c.dims.map((d) => Array.from({ length: d }, (_, i) => i));
    axes.forEach((a, k) => {
      const d = c.dims[a];
      const st = steps[k];
      const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v < 0 ? v + d : v));
      const [b, e] = st > 0 ? [clamp(starts[k], 0, d), clamp(ends[k], 0, d)] : [clamp(starts[k], -1, d - 1), clamp(ends[k], -1, d - 1)];
      const pick: number[] = [];
      for (let i = b; st > 0 ? i < e : i > e; i += st) pick.push(i);
      picks[a] = pick;
    });
    const dims = picks.map((p) => p.length);
    limit(size(dims), where);
    const v = valuesOf(c);
    const strides = c.dims.map((_, i) => size(c.dims.slice(i + 1)));
    const out: number[] = [];
    const walk = (axis: number, base: number): void => {
      if (axis === dims.length) {
        out.push(v[base]);
        return;
      }
      for (const i of picks[axis]) walk(axis + 1, base + i * strides[axis]);
    };
    if (size(dims) > 0) walk(0, 0);
    return isInt(c) ? { dims, ints: out } : { dims, floats: Float32Array.from(out) };
  },
  Reshape: ([c, shape], _, where) => {
    const target = valuesOf(shape).map((d, i) => (d === 0 ? c.dims[i] : d));
    const known = size(target.filter((d) => d !== -1));
    const dims = target.map((d) => (d === -1 ? size(c.dims) / known : d));
    if (size(dims) !== size(c.dims) || dims.some((d) => !Number.isInteger(d) || d < 0)) fail('BAD_MODEL', `${where}: a constant of [${c.dims}] cannot be reshaped to [${valuesOf(shape)}]`);
    return { ...c, dims };
  },
};
