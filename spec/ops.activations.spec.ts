/**
 * The activations besides ReLU (issue 14): ReLU6 and other clips, LeakyReLU, Sigmoid, HardSigmoid,
 * HardSwish, SiLU, Tanh. Each op's reference derivative is checked against central differences of its own
 * function (away from kinks: 1e-6 absolute, for steps of 1e-5 in float64); the wasm forward and
 * gradient equal the reference (1e-4 of scale, spec/helpers/engines.ts), on inputs that include the
 * kinks exactly; relevance passes through unchanged on both engines.
 */
// Plain tests use vitest's it: @fast-check/vitest's runs a function of no arbitraries as a property (40 times).
import { fc, it as property } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { Graph } from '../src/graph/graph.js';
import type { GraphNode } from '../src/graph/nodes.js';
import { OPS } from '../src/ops/index.js';
import { Random } from '../src/architectures/random.js';
import { createRule } from '../src/rules/index.js';
import { compare } from './helpers/engines.js';
import { Model } from '../src/model/model.js';

/** Each activation with its parameters and the inputs where its derivative jumps. */
const CASES: { node: GraphNode; kinks: number[] }[] = [
  { node: { op: 'Clip', name: 'relu6', inputs: ['x'], min: 0, max: 6 }, kinks: [0, 6] },
  { node: { op: 'Clip', name: 'clip', inputs: ['x'], min: -1.5, max: 0.75 }, kinks: [-1.5, 0.75] },
  { node: { op: 'LeakyReLU', name: 'leaky', inputs: ['x'], alpha: 0.1 }, kinks: [0] },
  { node: { op: 'Sigmoid', name: 'sigmoid', inputs: ['x'] }, kinks: [] },
  { node: { op: 'HardSigmoid', name: 'hardsigmoid', inputs: ['x'], alpha: 1 / 6, beta: 0.5 }, kinks: [-3, 3] },
  { node: { op: 'HardSigmoid', name: 'hardsigmoid.onnx', inputs: ['x'], alpha: 0.2, beta: 0.5 }, kinks: [-2.5, 2.5] },
  { node: { op: 'HardSwish', name: 'hardswish', inputs: ['x'] }, kinks: [-3, 3] },
  { node: { op: 'SiLU', name: 'silu', inputs: ['x'] }, kinks: [] },
  { node: { op: 'Tanh', name: 'tanh', inputs: ['x'] }, kinks: [] },
];

function inputs(seed: number, n: number, kinks: number[]): Float32Array {
  const x = new Random(seed).uniforms(n, -8, 8);
  kinks.forEach((k, i) => (x[i % n] = k));
  return x;
}

describe.each(CASES.map((c) => [c.node.name, c] as const))('%s', (_, { node, kinks }) => {
  const def = OPS[node.op as 'Clip'] as unknown as { reference: { forward: (n: GraphNode, xs: Float64Array[], c: unknown) => Float64Array; gradient: (n: GraphNode, R: Float64Array, c: unknown) => Float64Array[] } };

  property.prop([fc.double({ min: -8, max: 8, noNaN: true })])('its derivative is the slope of its function', (x) => {
    fc.pre(kinks.every((k) => Math.abs(x - k) > 1e-3));
    const h = 1e-5;
    const f = (v: number) => def.reference.forward(node, [Float64Array.of(v)], {})[0];
    const ctx = { value: () => Float64Array.of(x) };
    const slope = def.reference.gradient(node, Float64Array.of(1), ctx)[0][0];
    expect(Math.abs(slope - (f(x + h) - f(x - h)) / (2 * h))).toBeLessThanOrEqual(1e-6);
  });

  property.prop([fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 40 }), fc.nat(), fc.constantFrom('gradient', 'pass')])('wasm equals the reference, kinks included', (batch, n, seed, rule) => {
    const graph = new Graph({ name: 'x', shape: [1, 1, n] }, [node]);
    const x = inputs(seed, batch * n, kinks);
    const start = Float64Array.from(new Random(seed + 1).uniforms(batch * n, -1, 1));
    compare(graph, x, batch, new Map([[node.name, createRule(rule)]]), start, `${node.name} ${rule}`);
  });

  it('passes relevance through unchanged by default', async () => {
    const model = new Model(new Graph({ name: 'x', shape: [1, 1, 5] }, [node, { op: 'Flatten', name: 'flat', inputs: [node.name] }]));
    const x = Float32Array.of(-4, -0.5, 0.5, 2, 7);
    for (const backend of ['reference', 'wasm'] as const) {
      const e = await model.explain(x, { target: 3, backend });
      expect(Array.from(e.relevance)).toEqual([0, 0, 0, 1, 0]);
    }
  });
});

describe('bad activations', () => {
  it('refuses an empty clip range, naming the node', () => {
    expect(() => new Graph({ name: 'x', shape: [1, 2, 2] }, [{ op: 'Clip', name: 'act', inputs: ['x'], min: 6, max: 0 }])).toThrow(/node "act" \(Clip\) clips to \[6, 0\], which is empty/);
  });
});
