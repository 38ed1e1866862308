/**
 * Random graphs with the ops of issue 14 (inverted residuals with depthwise convs, ReLU6, HardSwish,
 * SiLU and SE gates; grouped convs; depthwise convs with multipliers; DenseNet layers with standalone
 * BatchNorm and Concat), beside the older blocks. Properties, on both engines:
 *   - conservation with zero biases under every composite (1e-4 relative, as spec/properties.spec.ts,
 *     with the same exclusion of neurons whose rule cannot conserve by definition);
 *   - LRP-0 from the logit equals gradient x input on piecewise-linear graphs (ReLU, ReLU6 where no
 *     value reaches 6, no gates): 1e-5 of scale on the reference, 1e-4 on wasm;
 *   - wasm equals the reference under every composite (1e-4 of scale), on well-conditioned cases.
 */
// Plain tests use vitest's it: @fast-check/vitest's runs a function of no arbitraries as a property (40 times).
import { fc, it as property } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { COMPOSITES } from '../src/composites.js';
import { referenceForward } from '../src/reference/forward.js';
import { buildRecipe, randomInput, recipeArb } from './helpers/random-graph.js';
import { fragileNeurons } from './helpers/degenerate.js';
import { expectClose } from './helpers/compare.js';
import { sum } from './helpers/layers.js';
import { Graph } from '../src/graph/graph.js';
import { Model } from '../src/model/model.js';

const relErr = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-12);
const withNewOps = recipeArb({ newOps: true });

for (const { backend, gxi: gxiTol } of [
  { backend: 'reference' as const, gxi: 1e-5 },
  { backend: 'wasm' as const, gxi: 1e-4 },
]) {
  describe(`on the ${backend} engine`, () => {
    for (const c of COMPOSITES) {
      property.prop([withNewOps, fc.integer({ min: 0, max: 1000 })])(`${c.name} conserves total relevance with zero biases`, async (recipe, inputSeed) => {
        const model = buildRecipe(recipe, { zeroBias: true });
        const x = randomInput(model, inputSeed);
        const composite = { name: c.name, epsilon: 1e-9, stabilizer: 1e-9 };
        fc.pre(fragileNeurons(model, composite, x, 1e-5) === 0);
        const e = await model.explain(x, { composite, backend });
        fc.pre(Math.abs(e.logits[e.target]) > 1e-3);
        const start = c.initial === 'logit' ? e.logits[e.target] : 1;
        expect(relErr(sum(e.relevance), start)).toBeLessThanOrEqual(1e-4);
      });
    }

    property.prop([recipeArb({ newOps: 'piecewiseLinear' }), fc.integer({ min: 0, max: 1000 })])('LRP-0 equals gradient x input on piecewise-linear graphs', async (recipe, inputSeed) => {
      const model = buildRecipe(recipe);
      const x = randomInput(model, inputSeed);
      // ReLU6 is linear only below 6: where a value reaches it, the gradient is 0 but relevance passes.
      const graph = model.canonicalGraph(true);
      const { values } = referenceForward(graph, Float64Array.from(x), 1);
      fc.pre(graph.nodes.every((n) => n.op !== 'Clip' || Math.max(...values.get(n.inputs[0])!) < n.max));
      const lrp = await model.explain(x, {
        composite: {
          name: 'epsilon',
          epsilon: 0,
          stabilizer: 0,
          overrides: [
            { type: 'Conv2d', rule: { rule: 'lrp0', stabilizer: 0 } },
            { type: 'BatchNorm', rule: { rule: 'lrp0', stabilizer: 0 } },
          ],
        },
        initial: 'logit',
        backend,
      });
      const { gradient } = await model.gradient(x, { target: lrp.target, backend });
      const gxi = Array.from(gradient, (g, i) => g * x[i]);
      const scale = Math.max(...gxi.map(Math.abs), 1e-6);
      gxi.forEach((v, i) => expect(Math.abs(lrp.relevance[i] - v)).toBeLessThanOrEqual(gxiTol * scale));
    });
  });
}

describe('wasm equals the reference on graphs with the new ops', () => {
  for (const c of COMPOSITES) {
    property.prop([withNewOps, fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 1, max: 2 })], { numRuns: 40 })(c.name, async (recipe, inputSeed, batch) => {
      const model = buildRecipe(recipe);
      const x = randomInput(model, inputSeed, batch);
      const image0 = x.subarray(0, x.length / batch);
      fc.pre(fragileNeurons(model, c.name, image0, 1e-5) === 0);
      const opts = { composite: c.name, batch, target: 1 };
      const r = await model.explain(x, { ...opts, backend: 'reference', layers: true });
      // A layer whose stabilized denominator nearly cancels (a logit near 0 under epsilon, say) multiplies
      // relevance, and float32's rounding of it with it: cases where some layer holds more than 20 times
      // the starting relevance are ill-conditioned for this comparison and set aside.
      fc.pre(r.layers!.every((l) => l.relevanceIn.every((v) => Math.abs(v) <= 20)));
      const w = await model.explain(x, { ...opts, backend: 'wasm' });
      expectClose(w.logits, r.logits, 1e-4, 'logits');
      expectClose(w.relevance, r.relevance, 1e-4, 'relevance');
    });
  }
});

describe('gates and concatenation, by hand', () => {
  // x: 2 channels of 2 values, gate g = (0.5, 2): y = (0.5, 1, 6, 8). Target y[3] with relevance 1.
  const graph = () =>
    new Model(
      new Graph({ name: 'x', shape: [2, 1, 2] }, [
        { op: 'GlobalAvgPool', name: 'pool', inputs: ['x'] },
        { op: 'Sigmoid', name: 'g', inputs: ['pool'] },
        { op: 'Gate', name: 'y', inputs: ['x', 'g'] },
        { op: 'Concat', name: 'cat', inputs: ['y', 'x'] },
        { op: 'Flatten', name: 'flat', inputs: ['cat'] },
      ]),
    );
  it('the gate holds relevance to its value; the gradient flows into both', async () => {
    const x = Float32Array.of(1, 2, 3, 4);
    const model = graph();
    const s = [1 / (1 + Math.exp(-1.5)), 1 / (1 + Math.exp(-3.5))];
    for (const backend of ['reference', 'wasm'] as const) {
      const logits = await model.forward(x, { backend });
      expectClose(logits, [1 * s[0], 2 * s[0], 3 * s[1], 4 * s[1], 1, 2, 3, 4], 1e-6, `${backend} forward`);
      // Relevance 1 at y[3] goes to x[3] alone: Concat slices, the gate passes to its value only.
      const e = await model.explain(x, { target: 3, backend });
      expectClose(e.relevance, [0, 0, 0, 1], 1e-7, `${backend} relevance`);
      // Relevance at the concatenated copy of x[0] (output 4) reaches x[0] through the slice.
      expectClose((await model.explain(x, { target: 4, backend })).relevance, [1, 0, 0, 0], 1e-7, `${backend} slice`);
      // d y3 / d x = g1 on x3 plus x3 * g1' * d pool1 / d x = x3 s1 (1 - s1) / 2 on x2 and x3.
      const d = 4 * s[1] * (1 - s[1]) / 2;
      expectClose((await model.gradient(x, { target: 3, backend })).gradient, [0, 0, d, s[1] + d], 1e-6, `${backend} gradient`);
    }
  });

  it('refuses a gate that is not one factor per channel, naming the node', () => {
    expect(() => new Graph({ name: 'x', shape: [2, 1, 2] }, [{ op: 'Gate', name: 'se', inputs: ['x', 'x'] }])).toThrow(/node "se" \(Gate\) gates a \[2,1,2\] value with a \[2,1,2\] gate; the gate must be one factor per channel, \[2,1,1\]/);
  });

  it('refuses concatenating maps of different sizes, naming the node', () => {
    expect(() =>
      new Graph({ name: 'x', shape: [2, 4, 4] }, [
        { op: 'MaxPool2d', name: 'p', inputs: ['x'], kernel: [2, 2], stride: [2, 2], pads: [0, 0, 0, 0] },
        { op: 'Concat', name: 'cat', inputs: ['x', 'p'] },
      ]),
    ).toThrow(/node "cat" \(Concat\) concatenates along channels inputs whose other dimensions differ: \[2,4,4\], \[2,2,2\]/);
  });
});
