/**
 * The transformer kernels in float32 (assembly/gelu.ts, softmax.ts, layer-norm.ts, vmath.ts' exp and
 * erf, elementwise.ts transpose) against the float64 definitions of the ops' reference passes, element
 * by element, on rows of every length 1-9 (every tail of the four-lane loops) and a transformer's sizes.
 *
 * Tolerances, from the approximations: erf within 4.2e-7 (Eigen's rational form, measured over
 * [-6, 6] in steps of 1e-4), exp within 1.3 float32 ulps of e^x of the float32 input; so GELU is
 * within 1e-6 * max(1, |x|) of its float64 value, its slope within 1e-6 * max(1, x^2); softmax within
 * 4 ulps relative (2^-22) of each probability, which over inputs spread down to -87 tests exp's relative
 * error where the row's sum is 1 to float32 rounding (elsewhere x - max rounds in float32 before exp,
 * (4 + |x - max|) ulps); LayerNorm within 1e-5 of each row's scale: its output's largest, for the
 * gradients the largest term inv |g w| (the full gradient of a row of 2 cancels to 0 exactly, so its
 * own size is no scale). Transpose moves floats and must be exact.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { Random } from '../src/architectures/random.js';
import { OPS } from '../src/ops/index.js';
import type { GraphNode } from '../src/graph/nodes.js';
import { instantiateKernels, type KernelExports } from '../src/wasm/load.js';

let k: KernelExports;
let top = 0;
/** Floats copied into the kernels' memory, at a fresh address. */
function put(values: ArrayLike<number>): number {
  const ptr = top;
  top += Math.ceil((values.length * 4 + 16) / 16) * 16;
  while (top > k.memory.buffer.byteLength) k.memory.grow(16);
  new Float32Array(k.memory.buffer, ptr, values.length).set(values);
  return ptr;
}
const read = (ptr: number, n: number) => Float64Array.from(new Float32Array(k.memory.buffer, ptr, n));
const f32 = (v: ArrayLike<number>) => Float64Array.from(Float32Array.from(v));

beforeAll(async () => {
  k = await instantiateKernels('simd');
});

type Ref = { reference: { forward(n: GraphNode, xs: Float64Array[], c: unknown): Float64Array; gradient(n: GraphNode, R: Float64Array, c: unknown): Float64Array[]; linearized?(n: GraphNode, R: Float64Array, c: unknown): Float64Array[] } };
const ref = (op: string) => OPS[op as 'GELU'] as unknown as Ref;
/** A reference context of `rows` rows of the node's values. */
const context = (rows: number, n: number, values: Record<string, Float64Array>) => ({ batch: rows, graph: { shape: () => [n] }, value: (name: string) => values[name] });

describe('GELU, both forms', () => {
  const xs = f32(Array.from({ length: 4003 }, (_, i) => -10 + i * 0.005));
  it.each(['none', 'tanh'] as const)('%s: value within 1e-6 max(1, |x|), slope within 1e-6 max(1, x^2), every tail', (approximate) => {
    const node = { op: 'GELU', name: 'g', inputs: ['x'], approximate } as GraphNode;
    const y = ref('GELU').reference.forward(node, [xs], {});
    const slope = ref('GELU').reference.gradient(node, new Float64Array(xs.length).fill(1), { value: () => xs })[0];
    for (const n of [1, 2, 3, 4, 5, 6, 7, 8, 9, xs.length]) {
      const [x, out, ones, dx] = [put(xs.subarray(0, n)), put(new Float64Array(n)), put(new Float64Array(n).fill(1)), put(new Float64Array(n))];
      k.gelu(x, out, n, approximate === 'tanh' ? 1 : 0);
      k.gelu_gradient(x, ones, dx, n, approximate === 'tanh' ? 1 : 0);
      const [got, gotSlope] = [read(out, n), read(dx, n)];
      for (let i = 0; i < n; i++) {
        expect(Math.abs(got[i] - y[i]), `GELU(${xs[i]})`).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(xs[i])));
        expect(Math.abs(gotSlope[i] - slope[i]), `GELU'(${xs[i]})`).toBeLessThanOrEqual(1e-6 * Math.max(1, xs[i] * xs[i]));
      }
    }
  });

  it('NaN stays NaN', () => {
    const [x, out] = [put([NaN, 1, NaN, -1, NaN]), put(new Float64Array(5))];
    k.gelu(x, out, 5, 0);
    expect(Array.from(read(out, 5)).map(Number.isNaN)).toEqual([true, false, true, false, true]);
  });
});

describe('softmax', () => {
  it('each probability within (4 + |x - max|) ulps relative, exp tested down to -87 (every row length 1-9, 17, 197)', () => {
    const node = { op: 'Softmax', name: 's', inputs: ['x'] } as GraphNode;
    for (const n of [1, 2, 3, 4, 5, 6, 7, 8, 9, 17, 197]) {
      const rng = new Random(n);
      // Row 0: one 0 and the rest far below, so each probability is e^x itself; row 1: attention-like scores.
      const x = f32([0, ...rng.uniforms(n - 1, -87, -1), ...rng.uniforms(n, -6, 6)]);
      const y = ref('Softmax').reference.forward(node, [x], context(2, n, {}));
      const out = put(new Float64Array(2 * n));
      k.softmax(put(x), out, 2, n);
      const got = read(out, 2 * n);
      const max = [0, Math.max(...x.subarray(n))];
      for (let i = 0; i < 2 * n; i++) {
        const ulps = 4 + Math.abs(x[i] - max[Math.floor(i / n)]) * (i < n ? 0 : 1);
        expect(Math.abs(got[i] - y[i]), `row length ${n}, element ${i}: ${x[i]}`).toBeLessThanOrEqual(ulps * 2 ** -24 * y[i]);
      }
    }
  });

  it('a masked score (-Infinity, or far below the rest) gets exactly 0, as e^x does in float32 there', () => {
    const out = put(new Float64Array(6));
    k.softmax(put([0, -Infinity, 1, -1e9, 2, -3.4e38]), out, 1, 6);
    const got = read(out, 6);
    expect([got[1], got[3], got[5]]).toEqual([0, 0, 0]);
    const want = [0, 1, 2].map((v) => Math.exp(v) / (1 + Math.E + Math.E ** 2));
    [got[0], got[2], got[4]].forEach((p, i) => expect(Math.abs(p - want[i])).toBeLessThanOrEqual(4 * 2 ** -24 * want[i]));
  });

  it('gradient: s (g - sum s g) within 1e-6 of the largest, every row length 1-9, 17', () => {
    const node = { op: 'Softmax', name: 's', inputs: ['x'] } as GraphNode;
    for (const n of [1, 2, 3, 4, 5, 6, 7, 8, 9, 17]) {
      const rng = new Random(100 + n);
      const s = f32(ref('Softmax').reference.forward(node, [f32(rng.uniforms(3 * n, -4, 4))], context(3, n, {})));
      const g = f32(rng.uniforms(3 * n, -1, 1));
      const want = ref('Softmax').reference.gradient(node, g, context(3, n, { s }))[0];
      const dx = put(new Float64Array(3 * n));
      k.softmax_gradient(put(s), put(g), dx, 3, n);
      const got = read(dx, 3 * n);
      const scale = Math.max(...want.map(Math.abs));
      for (let i = 0; i < 3 * n; i++) expect(Math.abs(got[i] - want[i]), `row length ${n}`).toBeLessThanOrEqual(1e-6 * Math.max(scale, 1e-30));
    }
  });
});

describe('LayerNorm', () => {
  it.each([1, 2, 3, 4, 5, 6, 7, 8, 9, 33, 768])('d = %i: forward, gradient and held gradient within 1e-5 of each row\'s scale', (d) => {
    const rng = new Random(d);
    const rows = 3;
    const node = { op: 'LayerNorm', name: 'ln', inputs: ['x'], features: d, weight: rng.normals(d, 1), bias: rng.normals(d, 0.5), epsilon: 1e-6 } as GraphNode & { weight: Float32Array; bias: Float32Array };
    const x = f32(rng.normals(rows * d, 3).map((v, i) => v + (i % 7) - 2));
    const g = f32(rng.uniforms(rows * d, -1, 1));
    const c = context(rows, d, { x });
    const want = [ref('LayerNorm').reference.forward(node, [x], c), ref('LayerNorm').reference.gradient(node, g, c)[0], ref('LayerNorm').reference.linearized!(node, g, c)[0]];
    const [xp, w, b, gp] = [put(x), put(node.weight), put(node.bias), put(g)];
    const outs = [put(new Float64Array(rows * d)), put(new Float64Array(rows * d)), put(new Float64Array(rows * d))];
    k.layer_norm(xp, w, b, outs[0], rows, d, 1e-6);
    k.layer_norm_gradient(xp, w, gp, outs[1], rows, d, 1e-6, 0);
    k.layer_norm_gradient(xp, w, gp, outs[2], rows, d, 1e-6, 1);
    want.forEach((wanted, pass) => {
      const got = read(outs[pass], rows * d);
      for (let r = 0; r < rows; r++) {
        const row = wanted.subarray(r * d, (r + 1) * d);
        const xs = x.subarray(r * d, (r + 1) * d);
        const mean = xs.reduce((a, v) => a + v, 0) / d;
        const inv = 1 / Math.sqrt(xs.reduce((a, v) => a + (v - mean) ** 2, 0) / d + 1e-6);
        const terms = Array.from({ length: d }, (_, i) => inv * Math.abs(g[r * d + i] * node.weight[i]));
        const scale = pass === 0 ? Math.max(...row.map(Math.abs)) : Math.max(...terms);
        for (let i = 0; i < d; i++) expect(Math.abs(got[r * d + i] - row[i]), `pass ${pass}, row ${r}`).toBeLessThanOrEqual(1e-5 * scale);
      }
    });
  });

  it('a constant row normalizes to 0 exactly (then the shift), however small epsilon is', () => {
    for (const [value, eps] of [[0.3, 1e-12], [100.3, 1e-12], [1000.7, 1e-5]]) {
      const d = 768;
      const out = put(new Float64Array(d));
      k.layer_norm(put(new Float64Array(d).fill(value)), put(new Float64Array(d).fill(2)), put(new Float64Array(d).fill(0.25)), out, 1, d, eps);
      expect(new Set(read(out, d)), `${value}, epsilon ${eps}`).toEqual(new Set([0.25]));
    }
  });

  it('without a shift (bias 0): (x - mean) inv weight', () => {
    const [x, w, out] = [put([1, 2, 3, 6]), put([1, 1, 2, 2]), put(new Float64Array(4))];
    k.layer_norm(x, w, 0, out, 1, 4, 0);
    // mean 3, variance (4 + 1 + 0 + 9) / 4 = 3.5
    const got = read(out, 4);
    [-2, -1, 0, 6].forEach((v, i) => expect(got[i]).toBeCloseTo(v / Math.sqrt(3.5), 6));
  });
});

describe('transpose', () => {
  it('is exact for every shape up to 9 x 9 and a head of 197 x 64', () => {
    const shapes: [number, number][] = [[197, 64], [64, 197]];
    for (let r = 1; r <= 9; r++) for (let c = 1; c <= 9; c++) shapes.push([r, c]);
    for (const [rows, cols] of shapes) {
      const src = f32(new Random(rows * 100 + cols).uniforms(rows * cols, -1, 1));
      const dst = put(new Float64Array(rows * cols));
      k.transpose(put(src), dst, rows, cols);
      const got = read(dst, rows * cols);
      const want = new Float64Array(rows * cols);
      for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) want[j * rows + i] = src[i * cols + j];
      expect(got, `${rows} x ${cols}`).toEqual(want);
    }
  });
});
