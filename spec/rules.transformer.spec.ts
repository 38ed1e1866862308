/**
 * The transformer rules by hand (src/rules/softmax.ts, uniform.ts, layernorm.ts) on graphs small enough
 * to compute with a pencil, both engines; then AttnLRP and CP-LRP on the ViT fixture against LXT's rules
 * as spec/fixtures/vit/make_fixtures.py computes them in float64 (explicit, and equal to LXT's efficient
 * form), and their conservation with biases, LayerNorm shifts, class token and position embedding zeroed;
 * the same on the DeiT-style fixture (a distillation token and a second head, averaged) against LXT's
 * efficient form, which the script holds equal to the explicit rules on the ViT.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildModel, defaultCompositeFor, Graph, Model } from '../src/index.js';
import type { GraphNode } from '../src/graph/nodes.js';
import { importOnnx } from '../src/io/onnx/import.js';
import { ROOT } from './helpers/cli.js';

const identity = (n: number) => Float32Array.from({ length: n * n }, (_, i) => (i % (n + 1) === 0 ? 1 : 0));
/** A head that passes relevance as it is: the identity with the epsilon rule (z = x, so R_x = x R / x = R). */
const head = (input: string, n: number): GraphNode => ({ op: 'Linear', name: 'head', inputs: [input], inFeatures: n, outFeatures: n, weight: identity(n), bias: null });

async function explain(graph: Graph, x: Float32Array, target: number): Promise<Float32Array[]> {
  const model = new Model(graph);
  return Promise.all((['reference', 'wasm'] as const).map(async (backend) => (await model.explain(x, { composite: 'attnlrp', backend, target, threads: 1 })).relevance));
}

const close = (got: ArrayLike<number>, want: number[], tol: number) => want.forEach((w, i) => expect(Math.abs(got[i] - w), `at ${i}`).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(w))));

describe('the transformer rules by hand', () => {
  it('softmax: R_j = x_j (R_j - s_j sum R), here with R one-hot at 1', async () => {
    const x = Float32Array.of(1, 2, 0.5);
    const graph = new Graph({ name: 'x', shape: [1, 1, 3] }, [{ op: 'Reshape', name: 'r', inputs: ['x'], shape: [3] }, { op: 'Softmax', name: 's', inputs: ['r'] }, head('s', 3)] as GraphNode[]);
    const e = [Math.exp(1), Math.exp(2), Math.exp(0.5)];
    const s = e.map((v) => v / (e[0] + e[1] + e[2]));
    const want = [0, 1, 2].map((j) => x[j] * ((j === 1 ? 1 : 0) - s[j]));
    for (const R of await explain(graph, x, 1)) close(R, want, 1e-6);
  });

  it('uniform: Z = A A^T, each factor half by epsilon; A gets both halves (the second back through the transpose)', async () => {
    const a = [1.5, -0.5, 2, 1];
    const graph = new Graph({ name: 'x', shape: [1, 2, 2] }, [
      { op: 'Reshape', name: 'A', inputs: ['x'], shape: [2, 2] },
      { op: 'Transpose', name: 'B', inputs: ['A'], perm: [1, 0] },
      { op: 'MatMul', name: 'Z', inputs: ['A', 'B'] },
      { op: 'Reshape', name: 'z', inputs: ['Z'], shape: [4] },
      head('z', 4),
    ] as GraphNode[]);
    // Z[i][k] = sum_j A[i][j] A[k][j]; R one-hot at Z[0][1]: N = R / 2Z is 1 / (2 Z01) there, 0 elsewhere.
    const A = [a.slice(0, 2), a.slice(2)];
    const z01 = A[0][0] * A[1][0] + A[0][1] * A[1][1];
    const n = 1 / (2 * z01);
    // R_A[i][j] = A[i][j] sum_k N[i][k] B[j][k] = A[0][j] N A[1][j] (i = 0); R_B[j][k] = B[j][k] sum_i A[i][j] N[i][k] = A[1][j] A[0][j] N (k = 1).
    const want = [0, 1, 2, 3].map((p) => {
      const [i, j] = [Math.floor(p / 2), p % 2];
      return (i === 0 ? A[0][j] * n * A[1][j] : 0) + (i === 1 ? A[1][j] * A[0][j] * n : 0);
    });
    for (const R of await explain(graph, Float32Array.from(a), 1)) close(R, want, 1e-6);
    expect(want.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 12);
  });

  it('layernorm: R_x = x (t - mean t), t = w R / (sigma y), the standard deviation held', async () => {
    const x = Float32Array.of(0.5, -1, 2, 1.25);
    const w = Float32Array.of(1.5, 0.5, -1, 2);
    const b = Float32Array.of(0.25, -0.5, 1, 0);
    const graph = new Graph({ name: 'x', shape: [1, 1, 4] }, [{ op: 'Reshape', name: 'r', inputs: ['x'], shape: [4] }, { op: 'LayerNorm', name: 'ln', inputs: ['r'], features: 4, weight: w, bias: b, epsilon: 1e-5 }, head('ln', 4)] as GraphNode[]);
    const mean = (x[0] + x[1] + x[2] + x[3]) / 4;
    const sigma = Math.sqrt([...x].reduce((s, v) => s + (v - mean) ** 2, 0) / 4 + 1e-5);
    const y = [...x].map((v, i) => ((v - mean) / sigma) * w[i] + b[i]);
    const t = [0, 1, 2, 3].map((i) => (w[i] * (i === 2 ? 1 : 0)) / (sigma * y[i]));
    const tm = (t[0] + t[1] + t[2] + t[3]) / 4;
    const want = [...x].map((v, i) => v * (t[i] - tm));
    for (const R of await explain(graph, x, 2)) close(R, want, 1e-6);
  });
});

describe('AttnLRP and CP-LRP on a ViT, against LXT', () => {
  const DIR = join(ROOT, 'spec/fixtures/vit');
  const f64 = (f: string) => {
    const b = readFileSync(join(DIR, f));
    return new Float64Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  };
  const x = new Float32Array(f64('input.bin'));
  const fixtures = JSON.parse(readFileSync(join(DIR, 'fixtures.json'), 'utf8')) as { target: number; models: Record<string, { relevance: Record<string, { lost: [string, number][] }> }> };

  // vit_timm.onnx is the ViT's model with timm's way of writing attention: the ViT's relevances.
  for (const [file, weights] of [['vit', 'vit'], ['vit_zero', 'vit_zero'], ['deit', 'deit'], ['deit_zero', 'deit_zero'], ['vit_timm', 'vit']] as const) {
    for (const composite of ['attnlrp', 'cp-lrp'] as const) {
      it(`${file}, ${composite}: cosine >= 0.9999 and rel L2 <= 1e-3 against LXT's rules, both engines`, async () => {
        const model = new Model(importOnnx(new Uint8Array(readFileSync(join(DIR, `${file}.onnx`)))));
        const want = f64(`${weights}.${composite}.bin`);
        for (const backend of ['reference', 'wasm'] as const) {
          const e = await model.explain(x, { composite, backend, target: fixtures.target, threads: 1, layers: true });
          const R = e.relevance;
          let [dot, nr, nw, d2] = [0, 0, 0, 0];
          for (let i = 0; i < R.length; i++) [dot, nr, nw, d2] = [dot + R[i] * want[i], nr + R[i] ** 2, nw + want[i] ** 2, d2 + (R[i] - want[i]) ** 2];
          // Measured: cosine 1 - 1e-12, rel L2 4e-8 (reference) and 1.2e-6 (wasm, float32).
          expect(dot / Math.sqrt(nr * nw), backend).toBeGreaterThanOrEqual(0.9999);
          expect(Math.sqrt(d2 / nw), backend).toBeLessThanOrEqual(1e-3);
          if (!weights.endsWith('_zero')) continue;
          // Conservation with nothing to absorb relevance: CP-LRP keeps all of it (to its gamma's 1e-6
          // stabilizer); AttnLRP loses what its softmax rules lose, reported layer by layer.
          const total = R.reduce((s, v) => s + v, 0);
          const softmaxLost = e.layers!.filter((l) => l.op === 'Softmax').reduce((s, l) => s + l.relevanceOut[0] - l.relevanceIn[0], 0);
          if (composite === 'cp-lrp') expect(Math.abs(total - 1)).toBeLessThanOrEqual(1e-5);
          else if (weights === 'deit_zero') expect(Math.abs(1 - softmaxLost - total)).toBeLessThanOrEqual(1e-5);
          else {
            expect(Math.abs(1 - softmaxLost - total)).toBeLessThanOrEqual(1e-5);
            const lxt = fixtures.models.vit_zero.relevance.attnlrp.lost.filter(([name]) => name.endsWith('softmax')).reduce((s, [, v]) => s + v, 0);
            expect(Math.abs(softmaxLost - lxt)).toBeLessThanOrEqual(1e-5);
          }
        }
      });
    }
  }
});

describe("a transformer's default composite", () => {
  const vit = () => new Model(importOnnx(new Uint8Array(readFileSync(join(ROOT, 'spec/fixtures/vit/vit.onnx')))));
  const x = Float32Array.from({ length: 3 * 32 * 32 }, (_, i) => Math.sin(i));

  it('is cp-lrp (LXT\'s for torchvision ViTs) for a model with attention, epsilon-gamma-box for a CNN', async () => {
    const model = vit();
    expect(defaultCompositeFor(model.graph)).toBe('cp-lrp');
    expect(defaultCompositeFor(buildModel('resnet18', { seed: 0 }).graph)).toBe('epsilon-gamma-box');
    const [plain, named] = [await model.explain(x, { threads: 1 }), await model.explain(x, { composite: 'cp-lrp', threads: 1 })];
    expect(plain.relevance).toEqual(named.relevance);
    const attributed = await model.attribute(x, { method: 'lrp', threads: 1 });
    expect(attributed.attribution).toEqual(named.relevance);
    expect(attributed.settings).toEqual({ method: 'lrp', composite: 'cp-lrp' });
  });
});
