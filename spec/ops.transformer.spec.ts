/**
 * A transformer's computing ops (LayerNorm, GELU, the product of two values, an inner Softmax, Linear on
 * each token): their forward against onnxruntime-web on a small attention block exported to ONNX, on
 * both engines; their gradients against finite differences of the float64 reference (the five-point
 * stencil on inputs exact in float32), the wasm engine's against the reference's; erf against Python's math.erf; bad shapes refused.
 */
import { describe, expect, it } from 'vitest';
import { exportOnnx, Graph, Model } from '../src/index.js';
import type { GraphNode } from '../src/graph/nodes.js';
import { erf } from '../src/reference/kernels/erf.js';
import { runOrt } from './helpers/ort.js';
import { importOnnx } from '../src/io/onnx/import.js';

const [T, D, H] = [8, 6, 2];
const hd = D / H;

function weights(n: number, seed: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => Math.round(Math.sin(seed * 7.1 + i * 1.3) * 64) / 128);
}

/** One attention block and an MLP, read out at token 0 into 3 classes: every op the ViT import needs. */
function block(approximate: 'none' | 'tanh'): Graph {
  const linear = (name: string, input: string, nin: number, nout: number, seed: number): GraphNode => ({ op: 'Linear', name, inputs: [input], inFeatures: nin, outFeatures: nout, weight: weights(nin * nout, seed), bias: weights(nout, seed + 50) });
  return new Graph({ name: 'x', shape: [1, T, D] }, [
    { op: 'Reshape', name: 'tokens', inputs: ['x'], shape: [T, D] },
    { op: 'LayerNorm', name: 'ln', inputs: ['tokens'], features: D, weight: weights(D, 1).map((v) => 1 + v), bias: weights(D, 2), epsilon: 1e-6 },
    linear('q', 'ln', D, D, 3),
    linear('k', 'ln', D, D, 4),
    linear('v', 'ln', D, D, 5),
    { op: 'Reshape', name: 'qh', inputs: ['q'], shape: [T, H, hd] },
    { op: 'Reshape', name: 'kh', inputs: ['k'], shape: [T, H, hd] },
    { op: 'Reshape', name: 'vh', inputs: ['v'], shape: [T, H, hd] },
    { op: 'Transpose', name: 'qt', inputs: ['qh'], perm: [1, 0, 2] },
    { op: 'Transpose', name: 'kt', inputs: ['kh'], perm: [1, 2, 0] },
    { op: 'Transpose', name: 'vt', inputs: ['vh'], perm: [1, 0, 2] },
    { op: 'MatMul', name: 'scores', inputs: ['qt', 'kt'] },
    { op: 'Softmax', name: 'attention', inputs: ['scores'] },
    { op: 'MatMul', name: 'mixed', inputs: ['attention', 'vt'] },
    { op: 'Transpose', name: 'back', inputs: ['mixed'], perm: [1, 0, 2] },
    { op: 'Reshape', name: 'merged', inputs: ['back'], shape: [T, D] },
    linear('out', 'merged', D, D, 6),
    { op: 'Add', name: 'residual', inputs: ['out', 'tokens'] },
    linear('up', 'residual', D, 2 * D, 7),
    { op: 'GELU', name: 'gelu', inputs: ['up'], approximate },
    linear('down', 'gelu', 2 * D, D, 8),
    { op: 'Take', name: 'cls', inputs: ['down'], axis: 0, index: 0 },
    linear('head', 'cls', D, 3, 9),
  ] as GraphNode[]);
}

/** An input exact in float32 at steps of 1/64, so that x +- 1/64 and x +- 1/128 are too. */
const x = Float32Array.from({ length: T * D }, (_, i) => Math.round(Math.cos(i * 0.9) * 96) / 64);

describe('the transformer ops', () => {
  it("erf equals Python's math.erf (CPython 3.11) to 1e-15", () => {
    const python: [number, number][] = [[0.1, 0.1124629160182849], [0.5, 0.5204998778130465], [1, 0.8427007929497149], [2, 0.9953222650189527], [2.4999, 0.9995928300996666], [2.5, 0.999593047982555], [3, 0.9999779095030014], [4, 0.9999999845827421], [-0.7, -0.6778011938374184], [-3.3, -0.9999969422902035]];
    for (const [v, e] of python) expect(Math.abs(erf(v) - e), `erf(${v})`).toBeLessThanOrEqual(1e-15);
  });

  for (const approximate of ['none', 'tanh'] as const) {
    it(`forward (GELU ${approximate}): both engines equal onnxruntime-web on the block's ONNX export`, async () => {
      const model = new Model(block(approximate));
      const ort = await runOrt(exportOnnx(model), x, [1, 1, T, D]);
      for (const backend of ['reference', 'wasm'] as const) {
        const y = await model.forward(x, { backend, threads: 1 });
        const scale = Math.max(...Array.from(ort, Math.abs));
        expect(Math.max(...Array.from(y, (v, i) => Math.abs(v - ort[i]))), backend).toBeLessThanOrEqual(1e-5 * scale);
      }
    });
  }

  it('the export read back: each GELU form and each written-out LayerNorm fused into one op, the same logits', async () => {
    for (const approximate of ['none', 'tanh'] as const) {
      const model = new Model(block(approximate));
      const back = importOnnx(exportOnnx(model));
      const ops = back.nodes.map((n) => n.op);
      expect(ops.filter((o) => o === 'GELU').length, approximate).toBe(1);
      expect((back.nodes.find((n) => n.op === 'GELU') as { approximate: string }).approximate).toBe(approximate);
      expect(ops.filter((o) => o === 'LayerNorm').length).toBe(1);
      const [a, b] = [await model.forward(x, { backend: 'reference' }), await new Model(back).forward(x, { backend: 'reference' })];
      expect(Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i])))).toBeLessThanOrEqual(1e-6 * Math.max(...Array.from(a, Math.abs)));
    }
  });

  it('gradient: the reference equals finite differences; the wasm engine equals the reference', async () => {
    const model = new Model(block('none'));
    const target = 1;
    const { gradient } = await model.gradient(x, { backend: 'reference', target });
    const logit = async (v: Float32Array) => (await model.forward(v, { backend: 'reference' }))[target];
    const at = async (i: number, h: number) => {
      const v = x.slice();
      v[i] += h;
      return logit(v);
    };
    for (const i of [0, 5, 7, 13, 22, 40, 47]) {
      // The five-point stencil, O(h^4), at h = 1/16 (x +- 2h exact in float32): the logits come back in
      // float32 (6e-8 of themselves), which at a smaller h outweighs the truncation. The ops' own
      // gradients measured 6e-8 to 2.5e-6 from it (a wrong term in one is off by 1e-1).
      const h = 1 / 16;
      const fd = (-(await at(i, 2 * h)) + 8 * (await at(i, h)) - 8 * (await at(i, -h)) + (await at(i, -2 * h))) / (12 * h);
      expect(Math.abs(gradient[i] - fd), `input ${i}`).toBeLessThanOrEqual(2e-5 * Math.max(1, Math.abs(fd)));
    }
    const wasm = (await model.gradient(x, { backend: 'wasm', target, threads: 1 })).gradient;
    const scale = Math.max(...Array.from(gradient, Math.abs));
    expect(Math.max(...Array.from(wasm, (v, i) => Math.abs(v - gradient[i])))).toBeLessThanOrEqual(1e-5 * scale);
  });

  it('bad shapes are refused, naming the node', () => {
    const one = (node: object) => () => new Graph({ name: 'x', shape: [1, T, D] }, [node as GraphNode, { op: 'Flatten', name: 'f', inputs: ['n'] } as GraphNode]);
    expect(one({ op: 'LayerNorm', name: 'n', inputs: ['x'], features: 5, weight: new Float32Array(5), bias: null, epsilon: 1e-6 })).toThrow(/"n".*normalizes 5 features/);
    expect(one({ op: 'GELU', name: 'n', inputs: ['x'], approximate: 'sigmoid' })).toThrow(/approximate must be/);
    expect(() => new Graph({ name: 'x', shape: [1, T, D] }, [{ op: 'MatMul', name: 'n', inputs: ['x', 'x'] } as GraphNode, { op: 'Flatten', name: 'f', inputs: ['n'] } as GraphNode])).toThrow(/multiplies \[1,8,6\] by \[1,8,6\]/);
  });
});
