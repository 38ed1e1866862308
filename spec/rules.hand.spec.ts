/**
 * Every rule on a layer small enough to work out by hand. The expected numbers are derived in the
 * comments, not computed by the code under test. Unless a test says otherwise the stabilizer is 0
 * (exact division), so the hand values are exact; tolerance 1e-12 covers float64 rounding.
 *
 * The running example: a Linear layer with inputs x = [1, -2, 3], weights W = [[1, 2, -1], [-1, 0.5, 2]],
 * bias b = [0.5, -1], so z = W x + b = [1 - 4 - 3 + 0.5, -1 - 1 + 6 - 1] = [-5.5, 3], and relevance
 * R = [1, 2] arriving at the two outputs.
 */
import { describe, expect, it } from 'vitest';
import { Graph } from '../src/graph/graph.js';
import { Model } from '../src/model/model.js';
import { propagate } from '../src/propagation/propagate.js';
import { referenceEngine } from '../src/reference/engine.js';
import { referenceArithmetic } from '../src/reference/arithmetic.js';
import { createRule } from '../src/rules/index.js';
import { normRule } from '../src/rules/norm.js';
import type { AffineRule, NormRule, Rule } from '../src/rules/types.js';
import { convLayer, linearLayer, sum, vec } from './helpers/layers.js';

const X = [1, -2, 3];
const W = [
  [1, 2, -1],
  [-1, 0.5, 2],
];
const B = [0.5, -1];
const R = vec(1, 2);
const affine = (spec: Parameters<typeof createRule>[0]) => createRule(spec) as AffineRule;

/** Runs the reference engine's forward and the shared backward traversal on a hand-made graph. */
function backward(graph: Graph, x: Float64Array, rules: Map<string, Rule>, start: Float64Array): Float32Array {
  return propagate(referenceEngine.run(graph, Float32Array.from(x), 1), rules, start).relevance;
}

function close(actual: ArrayLike<number>, expected: number[], tol = 1e-12) {
  expect(actual.length).toBe(expected.length);
  expected.forEach((e, i) => expect(Math.abs(actual[i] - e), `element ${i}: ${actual[i]} vs ${e}`).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(e))));
}

describe('affine rules by hand', () => {
  it('epsilon (eps 0.5)', () => {
    // stab(z) = [-5.5 - 0.5, 3 + 0.5] = [-6, 3.5]; s = R / stab = [-1/6, 4/7]
    // W^T s = [-1/6 - 4/7, -2/6 + 2/7, 1/6 + 8/7] = [-31/42, -1/21, 55/42]; R_in = x * W^T s
    const r = affine({ rule: 'epsilon', epsilon: 0.5 }).relevance(linearLayer(X, W, B), R);
    close(r, [-31 / 42, 2 / 21, 165 / 42]);
  });

  it('lrp0 (stabilizer 1e-6 only)', () => {
    // s = [1 / -5.5, 2 / 3]; W^T s = [-2/11 - 2/3, -4/11 + 1/3, 2/11 + 4/3] = [-28/33, -1/33, 50/33]
    const r = affine('lrp0').relevance(linearLayer(X, W, B), R);
    close(r, [-28 / 33, 2 / 33, 150 / 33], 1e-6);
  });

  it('zplus keeps the positive bias in the denominator', () => {
    // x+ = [1, 0, 3], x- = [0, -2, 0]; W+ = [[1, 2, 0], [0, .5, 2]], W- = [[0, 0, -1], [-1, 0, 0]]
    // z+ = x+ W+ + x- W- + b+ = [1 + 0 + .5, 6 + 0 + 0] = [1.5, 6]; s = [2/3, 1/3]
    // R_in = x+ (W+^T s) + x- (W-^T s) = [1 * 2/3, -2 * 0, 3 * 2/3] = [2/3, 0, 2]
    close(affine({ rule: 'zplus', stabilizer: 0 }).relevance(linearLayer(X, W, B), R), [2 / 3, 0, 2]);
    // Without bias: z+ = [1, 6], s = [1, 1/3]: R_in = [1 * 1, 0, 3 * 2/3] = [1, 0, 2] (conserves R: 3)
    close(affine({ rule: 'zplus', stabilizer: 0, ignoreBias: true }).relevance(linearLayer(X, W, B), R), [1, 0, 2]);
  });

  it('alpha-beta (2, 1) with positive and negative bias parts in their own denominators', () => {
    // positive part as z-plus: [2/3, 0, 2]
    // z- = x+ W- + x- W+ + b- = [-3 - 4 + 0, -1 - 1 - 1] = [-7, -3]; s- = [-1/7, -2/3]
    // W-^T s- = [2/3, 0, 1/7]; W+^T s- = [-1/7, -2/7 - 1/3, -4/3] = [-1/7, -13/21, -4/3]
    // negative part = x+ (W-^T s-) + x- (W+^T s-) = [2/3, 26/21, 3/7]
    // R_in = 2 * [2/3, 0, 2] - [2/3, 26/21, 3/7] = [2/3, -26/21, 25/7]
    close(affine({ rule: 'alpha-beta', alpha: 2, beta: 1, stabilizer: 0 }).relevance(linearLayer(X, W, B), R), [2 / 3, -26 / 21, 25 / 7]);
  });

  it('alpha-beta rejects alpha - beta != 1 and negative parameters', () => {
    expect(() => createRule({ rule: 'alpha-beta', alpha: 2, beta: 2 })).toThrow(/alpha - beta = 1/);
    expect(() => createRule({ rule: 'alpha-beta', alpha: 1, beta: -0 - 1 })).toThrow(/>= 0/);
  });

  it('gamma (0.5), generalised signed form', () => {
    // z = [-5.5, 3]: output 0 uses the "down" weights, output 1 the "up" weights.
    // wUp = w + .5 w+ = [[1.5, 3, -1], [-1, .75, 3]]; wDown = w + .5 w- = [[1, 2, -1.5], [-1.5, .5, 2]]
    // zUp_1 = x+ wUp_1 + x- wDown_1 + b_1 + .5 b+_1 = (-1 + 9) + (-1) + (-1) + 0 = 6  -> sUp = [0, 1/3]
    // zDown_0 = x+ wDown_0 + x- wUp_0 + b_0 + .5 b-_0 = (1 - 4.5) + (-6) + .5 + 0 = -9 -> sDown = [-1/9, 0]
    // wUp^T sUp = [-1/3, 1/4, 1]; wDown^T sUp = [-1/2, 1/6, 2/3]
    // wDown^T sDown = [-1/9, -2/9, 1/6]; wUp^T sDown = [-1/6, -1/3, 1/9]
    // R_in = x+ (wUp^T sUp + wDown^T sDown) + x- (wDown^T sUp + wUp^T sDown)
    //      = [1 (-1/3 - 1/9), -2 (1/6 - 1/3), 3 (1 + 1/6)] = [-4/9, 1/3, 7/2]
    close(affine({ rule: 'gamma', gamma: 0.5, stabilizer: 0 }).relevance(linearLayer(X, W, B), R), [-4 / 9, 1 / 3, 7 / 2]);
  });

  it('gamma (0.5) where the only relevance is at an output with z > 0', () => {
    // R = [0, 2]: only output 1 (z = 3 > 0) carries relevance, so the rule takes its z > 0 path (the one
    // every ReLU network runs on most layers), which the case above, with relevance at z = -5.5, does not.
    // wUp_1 = w_1 + .5 w+_1 = [-1, .75, 3]; wDown_1 = w_1 + .5 w-_1 = [-1.5, .5, 2]
    // zUp_1 = x+ wUp_1 + x- wDown_1 + b_1 + .5 b+_1 = (1 (-1) + 3 (3)) + (-2) (.5) + (-1) + 0 = 6
    // R_in = (x+ wUp_1 + x- wDown_1) * 2 / 6 = [1 (-1), -2 (.5), 3 (3)] / 3 = [-1/3, -1/3, 3]
    // (Taking w- for the up weights instead would give zUp_1 = 2 and [-1.5, -1, 6].)
    close(affine({ rule: 'gamma', gamma: 0.5, stabilizer: 0 }).relevance(linearLayer(X, W, B), vec(0, 2)), [-1 / 3, -1 / 3, 3]);
  });

  it('gamma drops relevance of outputs that are exactly zero', () => {
    // x = [1, 1], W = [[1, -1]]: z = 0, so the relevance 5 goes nowhere.
    const r = affine({ rule: 'gamma', gamma: 0.25 }).relevance(linearLayer([1, 1], [[1, -1]], null), vec(5));
    close(r, [0, 0]);
  });

  it('flat shares equally and ignores bias', () => {
    // z_k = 1 + 1 + 1 = 3 for both outputs; R_in_j = 1/3 + 2/3 = 1
    close(affine({ rule: 'flat', stabilizer: 0 }).relevance(linearLayer(X, W, B), R), [1, 1, 1]);
  });

  it('flat gives padded positions nothing', () => {
    // 1x3 input, kernel 1x3, one column of padding each side. Windows cover {0,1}, {0,1,2}, {1,2}
    // (sizes 2, 3, 2). With R = [1, 1, 1]: R_0 = 1/2 + 1/3, R_1 = 1/2 + 1/3 + 1/2, R_2 = 1/3 + 1/2.
    const r = affine({ rule: 'flat', stabilizer: 0 }).relevance(convLayer([7, -1, 2], 1, 3, [[1, 1, 1]], [0, 1, 0, 1]), vec(1, 1, 1));
    close(r, [5 / 6, 4 / 3, 5 / 6]);
    expect(sum(r)).toBeCloseTo(3, 12);
  });

  it('wsquare keeps the squared bias in the denominator', () => {
    // w^2 = [[1, 4, 1], [1, .25, 4]], b^2 = [.25, 1]: z = [6.25, 6.25]; s = [.16, .32]
    // R_in = (w^2)^T s = [.16 + .32, .64 + .08, .16 + 1.28]
    close(affine({ rule: 'wsquare', stabilizer: 0 }).relevance(linearLayer(X, W, B), R), [0.48, 0.72, 1.44]);
  });

  it('zbox with scalar bounds low=-2, high=3', () => {
    // z_0 = W_0 x - W+_0 l - W-_0 h = -6 - (3)(-2) - (-1)(3) = 3
    // z_1 = 4 - (2.5)(-2) - (-1)(3) = 12; s = [1/3, 1/6]
    // W^T s = [1/6, 3/4, 0], W+^T s = [1/3, 3/4, 1/3], W-^T s = [-1/6, 0, -1/3]
    // R_in = x W^T s - l W+^T s - h W-^T s = [1/6 + 2/3 + 1/2, -3/2 + 3/2 + 0, 0 + 2/3 + 1] = [4/3, 0, 5/3]
    const r = affine({ rule: 'zbox', low: -2, high: 3, stabilizer: 0 }).relevance(linearLayer(X, W, B), R);
    close(r, [4 / 3, 0, 5 / 3]);
    expect(sum(r)).toBeCloseTo(3, 12); // the bias cancels: z-box conserves exactly
  });

  it('zbox takes per-element bounds and falls back to the sample min/max', () => {
    const given = affine({ rule: 'zbox', low: [-2, -2, -2], high: [3, 3, 3], stabilizer: 0 }).relevance(linearLayer(X, W, B), R);
    close(given, [4 / 3, 0, 5 / 3]);
    // x = [1, -2, 3] has min -2 and max 3: the same bounds.
    close(affine({ rule: 'zbox', stabilizer: 0 }).relevance(linearLayer(X, W, B), R), [4 / 3, 0, 5 / 3]);
    expect(() => affine({ rule: 'zbox', low: [1, 2], high: 3 }).relevance(linearLayer(X, W, B), R)).toThrow(/has 2 values/);
  });

  it('the stabilizer is z + eps sign(z) with sign(0) = +1', () => {
    // A single input 0 with weight 1 and bias 0: z = 0 -> stab = +eps; R_in = 0 * ... = 0, finite.
    const r = affine({ rule: 'epsilon', epsilon: 0.1 }).relevance(linearLayer([0], [[1]], null), vec(1));
    close(r, [0]);
    // x = 2, w = -1: z = -2 -> stab = -2.1; R_in = 2 * (-1) * (1 / -2.1) = 2 / 2.1
    close(affine({ rule: 'epsilon', epsilon: 0.1 }).relevance(linearLayer([2], [[-1]], null), vec(1)), [2 / 2.1]);
  });
});

describe('norm, pass and winner-take-all by hand', () => {
  it('norm splits a sum in proportion and the parts add up to the parent', () => {
    // x1 = [2, -1], x2 = [1, 3], z = [3, 2], R = [3, 4]: R1 = [2 * 3/3, -1 * 4/2], R2 = [1 * 3/3, 3 * 4/2]
    const x1 = vec(2, -1);
    const x2 = vec(1, 3);
    const [r1, r2] = (normRule({ stabilizer: 0 }) as NormRule).relevance({ name: 'add', math: referenceArithmetic, inputs: [x1, x2], z: vec(3, 2), transpose: (s) => [s, s] }, vec(3, 4));
    close(r1, [2, -2]);
    close(r2, [1, 6]);
  });

  it('norm on a 2x2 average pool and winner-take-all on a max-pool, through the engine', () => {
    // input 1x2x3 = [[1, 5, 2], [3, 0, 4]]
    const input = { name: 'x', shape: [1, 2, 3] };
    const avg = new Graph(input, [
      { op: 'AvgPool2d', name: 'avg', inputs: ['x'], kernel: [2, 2], stride: [1, 1], pads: [0, 0, 0, 0], countIncludePad: true },
      { op: 'Flatten', name: 'f', inputs: ['avg'] },
    ]);
    const x = vec(1, 5, 2, 3, 0, 4);
    // z = [(1+5+3+0)/4, (5+2+0+4)/4] = [9/4, 11/4]; R = [1, 0] (one-hot on output 0):
    // R_in = x * (1/4) / (9/4) on the first window = x / 9 for x in {1, 5, 3, 0}
    const rulesAvg = new Map([['avg', normRule({ stabilizer: 0 })], ['f', createRule('pass')]]);
    close(backward(avg, x, rulesAvg, vec(1, 0)), [1 / 9, 5 / 9, 0, 3 / 9, 0, 0], 1e-7);

    const max = new Graph(input, [
      { op: 'MaxPool2d', name: 'max', inputs: ['x'], kernel: [2, 2], stride: [1, 1], pads: [0, 0, 0, 0] },
      { op: 'Flatten', name: 'f', inputs: ['max'] },
    ]);
    // Both windows are won by the 5 at (0, 1): R = [1, 2] lands there as 3.
    const rulesMax = new Map([['max', createRule('wta')], ['f', createRule('pass')]]);
    close(backward(max, x, rulesMax, vec(1, 2)), [0, 3, 0, 0, 0, 0]);
  });

  it('max-pool ties go to the first maximum in the window', () => {
    const g = new Graph({ name: 'x', shape: [1, 2, 2] }, [
      { op: 'MaxPool2d', name: 'max', inputs: ['x'], kernel: [2, 2], stride: [2, 2], pads: [0, 0, 0, 0] },
      { op: 'Flatten', name: 'f', inputs: ['max'] },
    ]);
    const rules = new Map([['max', createRule('wta')], ['f', createRule('pass')]]);
    close(backward(g, vec(2, 2, 2, 2), rules, vec(1)), [1, 0, 0, 0]);
  });

  it('pass hands relevance through ReLU unchanged, even where the input was negative', () => {
    const g = new Graph({ name: 'x', shape: [1, 1, 2] }, [
      { op: 'ReLU', name: 'relu', inputs: ['x'] },
      { op: 'Flatten', name: 'f', inputs: ['relu'] },
    ]);
    const rules = new Map([['relu', createRule('pass')], ['f', createRule('pass')]]);
    close(backward(g, vec(-1, 2), rules, vec(0.25, 0.75)), [0.25, 0.75]);
  });
});

describe('explain on a hand-sized model', () => {
  // input 3x1x1 -> Flatten -> Linear(W, B): the running example, explained for class 1 with one-hot 1.0.
  const model = new Model(
    new Graph({ name: 'x', shape: [3, 1, 1] }, [
      { op: 'Flatten', name: 'flat', inputs: ['x'] },
      { op: 'Linear', name: 'fc', inputs: ['flat'], inFeatures: 3, outFeatures: 2, weight: Float32Array.from(W.flat()), bias: Float32Array.from(B) },
    ]),
  );
  const x = Float32Array.from(X);

  it('picks the top-1 class and starts from one-hot 1.0', async () => {
    // logits [-5.5, 3] -> target 1. epsilon 0.5: s = [0, 1/3.5]; R_in = x * W_1 / 3.5 = [-1, -1, 6] / 3.5
    const e = await model.explain(x, { composite: { name: 'epsilon', epsilon: 0.5 } });
    expect(e.target).toBe(1);
    expect(Array.from(e.logits)).toEqual([-5.5, 3]);
    close(e.relevance, [-1 / 3.5, -1 / 3.5, 6 / 3.5], 1e-7);
  });

  it("starts from the logit's value with initial 'logit'", async () => {
    // R = 3 at class 1: three times the one-hot result
    const e = await model.explain(x, { composite: { name: 'epsilon', epsilon: 0.5 }, initial: 'logit' });
    close(e.relevance, [-3 / 3.5, -3 / 3.5, 18 / 3.5], 1e-6);
  });

  it('explains a chosen target and takes overrides by type, name and position', async () => {
    // class 0 with z-plus (stabilizer 1e-6): z+_0 = 1.5, R_in = [1, 0, 3] * W+_0 / 1.5 = [2/3, 0, 0]
    const e = await model.explain(x, { target: 0, composite: { name: 'epsilon', overrides: [{ type: 'Linear', rule: 'zplus' }] } });
    close(e.relevance, [2 / 3, 0, 0], 1e-5);
    const byName = await model.explain(x, { target: 0, composite: { name: 'epsilon', overrides: [{ name: 'fc', rule: 'zplus' }] } });
    close(byName.relevance, [2 / 3, 0, 0], 1e-5);
    const byPosition = await model.explain(x, { target: 0, composite: { name: 'epsilon', overrides: [{ layer: 'last', rule: 'zplus' }] } });
    close(byPosition.relevance, [2 / 3, 0, 0], 1e-5);
  });
});

describe('gamma where z > 0, on both engines', () => {
  // The running example as a model (Linear, and the same weights as a 1x1 Conv2d: the wasm engine has
  // its own kernels for each), explained for class 1 (z = 3 > 0) from one-hot 1.0 with gamma 0.5 and no
  // stabilizer. One-hot relevance at a positive logit is the z > 0 path; x = [1, -2, 3] has a negative
  // element, so its x- terms (the down weights) are in it too. From the rule-level case above, with
  // R = 1 instead of 2: R_in = [1 (-1), -2 (.5), 3 (3)] / 6 = [-1/6, -1/6, 3/2].
  // Tolerance 1e-6 (relative to max(1, |expected|)): the wasm engine computes in float32, a few roundings
  // of 6e-8 each; the reference engine in float64, rounded once to float32 at the end. A wrong weight
  // part moves an element by 0.3 or more.
  const rule = { rule: 'gamma', gamma: 0.5, stabilizer: 0 } as const;
  const weight = Float32Array.from(W.flat());
  const bias = Float32Array.from(B);
  const linear = new Model(
    new Graph({ name: 'x', shape: [3, 1, 1] }, [
      { op: 'Flatten', name: 'flat', inputs: ['x'] },
      { op: 'Linear', name: 'fc', inputs: ['flat'], inFeatures: 3, outFeatures: 2, weight, bias },
    ]),
  );
  const conv = new Model(
    new Graph({ name: 'x', shape: [3, 1, 1] }, [
      { op: 'Conv2d', name: 'conv', inputs: ['x'], inChannels: 3, outChannels: 2, kernel: [1, 1], stride: [1, 1], pads: [0, 0, 0, 0], dilation: [1, 1], groups: 1, weight, bias },
    ]),
  );
  const cases = [
    ['Linear', linear, { name: 'epsilon', overrides: [{ type: 'Linear', rule }] }],
    ['Conv2d', conv, { name: 'epsilon', overrides: [{ type: 'Conv2d', rule }] }],
  ] as const;
  for (const [what, model, composite] of cases) {
    for (const backend of ['reference', 'wasm'] as const) {
      it(`${what} (${backend})`, async () => {
        const e = await model.explain(Float32Array.from(X), { composite: composite as never, backend, target: 1 });
        expect(Array.from(e.logits)).toEqual([-5.5, 3]);
        close(e.relevance, [-1 / 6, -1 / 6, 3 / 2], 1e-6);
      });
    }
  }
});

describe('the stabilizer where contributions cancel exactly: sign(0) = +1 (Zennit)', () => {
  // x = [1, 1], w = [1, -1]: z = 1 - 1 = 0 exactly, so stab(z) = 0 + eps * sign(0) = +eps. With eps = 0.25
  // and R = 1 at the target, R_j = x_j w_j / 0.25 = [4, -4]. sign(0) = -1 would give [-4, 4]; sign(0) = 0 a
  // zero denominator (relevance dropped: [0, 0]). Five outputs, all with these weights, so that the wasm
  // kernels divide the target's z in their four-lane path (target 0) and in their scalar tail (target 4).
  // Both engines, a Linear and a 1x1 Conv2d, and z-box with zero bounds (z^B = x w - 0 w+ - 0 w- = 0) on
  // the Conv, whose z^B the wasm engine computes afresh rather than reading the stored z.
  const weight = Float32Array.from({ length: 10 }, (_, i) => (i % 2 ? -1 : 1));
  const linear = new Model(
    new Graph({ name: 'x', shape: [2, 1, 1] }, [
      { op: 'Flatten', name: 'flat', inputs: ['x'] },
      { op: 'Linear', name: 'fc', inputs: ['flat'], inFeatures: 2, outFeatures: 5, weight, bias: null },
    ]),
  );
  const conv = new Model(
    new Graph({ name: 'x', shape: [2, 1, 1] }, [
      { op: 'Conv2d', name: 'conv', inputs: ['x'], inChannels: 2, outChannels: 5, kernel: [1, 1], stride: [1, 1], pads: [0, 0, 0, 0], dilation: [1, 1], groups: 1, weight, bias: null },
    ]),
  );
  const x = Float32Array.of(1, 1);
  const cases = [
    ['Linear, epsilon', linear, { name: 'epsilon', epsilon: 0.25 }],
    ['Conv2d, epsilon', conv, { name: 'epsilon', epsilon: 0.25 }],
    ['Conv2d, z-box with zero bounds', conv, { name: 'epsilon', overrides: [{ type: 'Conv2d', rule: { rule: 'zbox', low: 0, high: 0, stabilizer: 0.25 } }] }],
  ] as const;
  for (const [what, model, composite] of cases) {
    for (const backend of ['reference', 'wasm'] as const) {
      it(`${what} (${backend})`, async () => {
        for (const target of [0, 4]) {
          const e = await model.explain(x, { composite: composite as never, backend, target });
          expect(Array.from(e.logits)).toEqual([0, 0, 0, 0, 0]);
          expect(Array.from(e.relevance), `target ${target}`).toEqual([4, -4]);
        }
      });
    }
  }
});
