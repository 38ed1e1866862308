/**
 * The ops that move a sample's values (Reshape, Transpose, Slice, Take, ConstantConcat: a transformer's
 * tokens and heads) by hand: a chain of all five on a 2 x 3 x 4 sample, its logits computed here with
 * nested arrays, on both engines and by onnxruntime-web on the graph exported to ONNX; its gradient the
 * adjoint of the moves (each input position gets the weight of the output it went to; the constant's
 * positions give nothing); bad parameters refused.
 */
import { describe, expect, it } from 'vitest';
import { exportOnnx, Graph, Model } from '../src/index.js';
import type { GraphNode } from '../src/graph/nodes.js';
import { runOrt } from './helpers/ort.js';

const [C, H, W] = [2, 3, 4];
const constant = Float32Array.of(0.5, -1.5, 2.5);
const weight = Float32Array.from({ length: 2 * 9 }, (_, i) => Math.sin(i + 1));

function chain(): Graph {
  return new Graph({ name: 'x', shape: [C, H, W] }, [
    { op: 'Transpose', name: 't', inputs: ['x'], perm: [2, 0, 1] },
    { op: 'Slice', name: 's', inputs: ['t'], axis: 0, start: 1, end: 3 },
    { op: 'Take', name: 'k', inputs: ['s'], axis: 1, index: 1 },
    { op: 'ConstantConcat', name: 'cc', inputs: ['k'], axis: 0, constant, constantShape: [1, 3], at: 'start' },
    { op: 'Reshape', name: 'r', inputs: ['cc'], shape: [9] },
    { op: 'Linear', name: 'fc', inputs: ['r'], inFeatures: 9, outFeatures: 2, weight, bias: null },
  ] as GraphNode[]);
}

/** The chain by hand: for each of the 9 features, the input position it is, or the constant's value. */
function byHand(): (number | { constant: number })[] {
  const at = (c: number, h: number, w: number) => (c * H + h) * W + w;
  // t[i][j][k] = x[j][k][i] (output axis 0 is input axis 2, ...); s = t[1..2]; k[i][l] = s[i][1][l].
  const k = [1, 2].map((i) => [0, 1, 2].map((l) => at(1, l, i)));
  return [...[0, 1, 2].map((j) => ({ constant: constant[j] })), ...k.flat()];
}

describe('the ops that move values', () => {
  const x = Float32Array.from({ length: C * H * W }, (_, i) => Math.cos(i * 0.7) * 3);
  const features = byHand().map((f) => (typeof f === 'number' ? x[f] : f.constant));
  const logits = [0, 1].map((o) => features.reduce((s, v, i) => s + v * weight[o * 9 + i], 0));

  it('forward: the chain computed by hand, on both engines and by onnxruntime-web on its ONNX export', async () => {
    const model = new Model(chain());
    for (const backend of ['reference', 'wasm'] as const) {
      const y = await model.forward(x, { backend, threads: 1 });
      for (let o = 0; o < 2; o++) expect(Math.abs(y[o] - logits[o]), backend).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(logits[o])));
    }
    const ort = await runOrt(exportOnnx(model), x, [1, C, H, W]);
    for (let o = 0; o < 2; o++) expect(Math.abs(ort[o] - logits[o])).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(logits[o])));
  });

  it('gradient: each input position gets the weight of the feature it went to; the rest nothing', async () => {
    const model = new Model(chain());
    const expected = new Float64Array(C * H * W);
    byHand().forEach((f, i) => {
      if (typeof f === 'number') expected[f] += weight[0 * 9 + i];
    });
    for (const backend of ['reference', 'wasm'] as const) {
      const { gradient } = await model.gradient(x, { backend, target: 0, threads: 1 });
      expect(Array.from(gradient, (v, i) => Math.abs(v - expected[i])).every((d) => d <= 1e-6), backend).toBe(true);
    }
    // Channel 1, columns 1 and 2, every row: 6 of the 24 positions reach a feature.
    expect(expected.filter((v) => v !== 0).length).toBe(6);
  });

  it('bad parameters are refused, naming the node', () => {
    const one = (node: object) => () => new Graph({ name: 'x', shape: [C, H, W] }, [node as GraphNode, { op: 'Flatten', name: 'f', inputs: ['n'] } as GraphNode]);
    expect(one({ op: 'Transpose', name: 'n', inputs: ['x'], perm: [0, 0, 1] })).toThrow(/"n".*not a permutation/);
    expect(one({ op: 'Slice', name: 'n', inputs: ['x'], axis: 1, start: 2, end: 4 })).toThrow(/positions 2-4 of axis 1/);
    expect(one({ op: 'Take', name: 'n', inputs: ['x'], axis: 3, index: 0 })).toThrow(/axis 3/);
    expect(one({ op: 'ConstantConcat', name: 'n', inputs: ['x'], axis: 0, constant: new Float32Array(5), constantShape: [1, 3, 4], at: 'start' })).toThrow(/cannot join/);
    expect(one({ op: 'Reshape', name: 'n', inputs: ['x'], shape: [5, 5] })).toThrow(/cannot be reshaped/);
  });
});

describe('LRP through the moves', () => {
  it('every composite runs on the chain, the moves passing relevance as their gradient, both engines equal', async () => {
    const model = new Model(chain());
    const x = Float32Array.from({ length: C * H * W }, (_, i) => Math.sin(i * 0.3) + 0.2);
    for (const composite of ['epsilon-plus-flat', 'epsilon-gamma-box', 'epsilon']) {
      const [ref, wasm] = [await model.explain(x, { composite, backend: 'reference', target: 1 }), await model.explain(x, { composite, backend: 'wasm', target: 1, threads: 1 })];
      const scale = Math.max(...Array.from(ref.relevance, Math.abs));
      expect(scale).toBeGreaterThan(0);
      expect(Math.max(...Array.from(ref.relevance, (v, i) => Math.abs(v - wasm.relevance[i])))).toBeLessThanOrEqual(1e-5 * scale);
    }
  });
});
