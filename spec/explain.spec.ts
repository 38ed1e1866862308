import { describe, expect, it } from 'vitest';
import { buildModel, COMPOSITES, Graph, Model, type GraphNode } from '../src/index.js';
import { sum } from './helpers/layers.js';

describe('explain', () => {
  const model = buildModel('resnet18', { inputSize: 32, width: 8, numClasses: 6, seed: 5 });
  const one = (seed: number) => Float32Array.from({ length: 3 * 32 * 32 }, (_, i) => Math.sin(i * 0.37 + seed));

  it('a folded BatchNorm is data on its layer: copies of the canonical graph compute the same logits', async () => {
    const g = model.canonicalGraph(true);
    expect(g.nodes.some((n) => 'scale' in n && n.scale)).toBe(true);
    const copy = new Model(new Graph(g.input, g.nodes.map((n) => ({ ...n, inputs: [...n.inputs] }) as GraphNode), g.output));
    const x = one(3);
    for (const backend of ['wasm', 'reference'] as const) {
      expect(Array.from(await copy.forward(x, { backend })), backend).toEqual(Array.from(await model.forward(x, { backend })));
    }
  });

  it('a batch gives each image the explanation it gets alone, with one target per image', async () => {
    const [a, b] = [one(1), one(2)];
    const batch = new Float32Array(a.length * 2);
    batch.set(a);
    batch.set(b, a.length);
    const both = await model.explain(batch, { batch: 2, target: [1, 4], composite: 'epsilon-gamma-box' });
    const ea = await model.explain(a, { target: 1, composite: 'epsilon-gamma-box' });
    const eb = await model.explain(b, { target: 4, composite: 'epsilon-gamma-box' });
    expect(both.targets).toEqual([1, 4]);
    expect(both.relevance.length).toBe(2 * a.length);
    // Same float64 arithmetic per image: identical up to float32 storage.
    expect(Array.from(both.relevance.subarray(0, a.length))).toEqual(Array.from(ea.relevance));
    expect(Array.from(both.relevance.subarray(a.length))).toEqual(Array.from(eb.relevance));
  });

  it('every composite explains a ResNet-18 and relevance has the input shape', async () => {
    for (const c of COMPOSITES) {
      const e = await model.explain(one(3), { composite: c.name });
      expect(e.relevance.length, c.name).toBe(3 * 32 * 32);
      expect(e.relevance.every(Number.isFinite), c.name).toBe(true);
      expect(sum(e.relevance), c.name).not.toBe(0);
    }
  });

  it('epsilon-gamma-box uses the model input range when it is known', async () => {
    const x = one(4);
    const own = await model.explain(x, { composite: 'epsilon-gamma-box' });
    const given = await model.explain(x, { composite: { name: 'epsilon-gamma-box', low: -1, high: 1 } });
    const ranged = buildModel('resnet18', { inputSize: 32, width: 8, numClasses: 6, seed: 5 });
    Object.assign(ranged.info, { inputRange: { low: -1, high: 1 } });
    const known = await ranged.explain(x, { composite: 'epsilon-gamma-box' });
    expect(Array.from(known.relevance)).toEqual(Array.from(given.relevance));
    expect(Array.from(known.relevance)).not.toEqual(Array.from(own.relevance));
    // interpretdl ignores the known range and always takes the sample's min/max
    const idlOwn = await model.explain(x, { composite: 'interpretdl' });
    const idlKnown = await ranged.explain(x, { composite: 'interpretdl' });
    expect(Array.from(idlKnown.relevance)).toEqual(Array.from(idlOwn.relevance));
  });
});

describe('the layers report on a ResNet-18', () => {
  const x = Float32Array.from({ length: 3 * 64 * 64 }, (_, i) => Math.sin(i * 0.011) + 0.3 * Math.cos(i * 0.7));

  it('without biases nothing is absorbed; with biases the affine layers absorb it, and the books balance', async () => {
    const zero = buildModel('resnet18', { inputSize: 64, numClasses: 10, seed: 1, zeroBias: true });
    // On the float64 reference: the books balance to rounding. (spec/wasm.spec.ts checks the wasm report.)
    const z = await zero.explain(x, { composite: { name: 'epsilon', epsilon: 1e-9, stabilizer: 1e-9 }, layers: true, backend: 'reference' });
    for (const l of z.layers!) expect(Math.abs(l.relevanceOut[0] - l.relevanceIn[0]), l.name).toBeLessThanOrEqual(1e-6);

    const model = buildModel('resnet18', { inputSize: 64, numClasses: 10, seed: 1 });
    const e = await model.explain(x, { composite: 'epsilon', layers: true, backend: 'reference' });
    const layers = e.layers!;
    expect(layers[0].name).toBe('conv1');
    expect(layers.at(-1)!.name).toBe('fc');
    expect(layers.at(-1)!.relevanceOut[0]).toBe(1); // one-hot start
    // Each layer hands on what it received minus what it absorbed; the absorptions add up to the gap
    // between the start and the input's total.
    const absorbed = layers.map((l) => l.relevanceOut[0] - l.relevanceIn[0]);
    expect(Math.abs(1 - absorbed.reduce((a, b) => a + b, 0) - sum(e.relevance))).toBeLessThanOrEqual(1e-5);
    // Pass and winner-take-all layers absorb nothing (up to float64 summation order).
    for (const l of layers.filter((l) => l.op === 'ReLU' || l.op === 'MaxPool2d' || l.op === 'Flatten')) {
      expect(Math.abs(l.relevanceOut[0] - l.relevanceIn[0]), l.name).toBeLessThanOrEqual(1e-12);
    }
    // The fc layer (epsilon) absorbs its bias's share: 1 - (z_t - b_t) / z_t = b_t / z_t.
    const fc = model.canonicalGraph().byName.get('fc')!;
    const bias = fc.op === 'Linear' ? fc.bias![e.target] : NaN;
    expect(absorbed.at(-1)!).toBeCloseTo(bias / e.logits[e.target], 5);
    // With biases (folded BatchNorm shifts), conv layers absorb visibly.
    expect(layers.filter((l) => l.op === 'Conv2d').some((l) => Math.abs(l.relevanceOut[0] - l.relevanceIn[0]) > 1e-3)).toBe(true);
  });
});
