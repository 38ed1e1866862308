/**
 * model.attribute's methods by hand-worked numbers and identities: integration rules' points and
 * weights, integrated gradients' completeness, SmoothGrad's noise-free and seeded runs, Grad-CAM on a
 * tiny net and its default layers, occlusion and LIME on linear models, SLIC on hand cases.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildModel, Graph, Model, quadrature } from '../src/index.js';
import { gridSegments } from '../src/attribution/segments/grid.js';
import { regularGrid, slic } from '../src/attribution/segments/slic.js';
import { weightedLinearFit } from '../src/attribution/linear-fit.js';
import { buildRecipe, randomInput, recipeArb } from './helpers/random-graph.js';

const sum = (a: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s;
};
const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-9) => {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < b.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(b[i])));
};

describe('integration rules (Captum approximation_methods.py)', () => {
  it('Riemann points and weights, n = 4', () => {
    expect(quadrature('riemann-left', 4)).toEqual({ alphas: [0, 0.25, 0.5, 0.75], weights: [0.25, 0.25, 0.25, 0.25] });
    expect(quadrature('riemann-right', 4)).toEqual({ alphas: [0.25, 0.5, 0.75, 1], weights: [0.25, 0.25, 0.25, 0.25] });
    expect(quadrature('riemann-middle', 4)).toEqual({ alphas: [0.125, 0.375, 0.625, 0.875], weights: [0.25, 0.25, 0.25, 0.25] });
    // Captum's trapezoid: points i / (n - 1), weights 1/n halved at both ends, summing to (n - 1)/n.
    const t = quadrature('riemann-trapezoid', 4);
    close(t.alphas, [0, 1 / 3, 2 / 3, 1], 1e-15);
    expect(t.weights).toEqual([0.125, 0.25, 0.25, 0.125]);
    expect(sum(t.weights)).toBe(0.75);
  });

  it('Gauss-Legendre on [0, 1]: 1, 2 and 3 points by hand, 50 exact on degree 99', () => {
    close(quadrature('gauss-legendre', 1).alphas, [0.5], 1e-15);
    close(quadrature('gauss-legendre', 1).weights, [1], 1e-15);
    const two = quadrature('gauss-legendre', 2);
    close(two.alphas, [(1 - 1 / Math.sqrt(3)) / 2, (1 + 1 / Math.sqrt(3)) / 2], 1e-15);
    close(two.weights, [0.5, 0.5], 1e-15);
    const three = quadrature('gauss-legendre', 3);
    close(three.alphas, [(1 - Math.sqrt(0.6)) / 2, 0.5, (1 + Math.sqrt(0.6)) / 2], 1e-15);
    close(three.weights, [5 / 18, 8 / 18, 5 / 18], 1e-15);
    const fifty = quadrature('gauss-legendre', 50);
    close([sum(fifty.weights)], [1], 1e-14);
    // n points integrate polynomials of degree 2n - 1 exactly: the integral of a^99 over [0, 1] is 1/100.
    close([fifty.alphas.reduce((s, a, i) => s + fifty.weights[i] * a ** 99, 0)], [0.01], 1e-12);
  });

  it('refuses what Captum refuses', () => {
    expect(() => quadrature('riemann-trapezoid', 1)).toThrow(/at least 2 steps/);
    expect(() => quadrature('gauss-legendre', 10_001)).toThrow(/steps must be at most 10000/);
  });
});

describe('integrated gradients: completeness', () => {
  /**
   * On a ReLU net g(a) = grad f(b + a (x - b)) . (x - b) is piecewise constant in a, and the exact
   * integral of g is f(x) - f(b). A rule whose partial sums of weights stay within max_k w_k of the
   * integral of an indicator (true of Riemann left/right/middle, and of Gauss-Legendre by the
   * separation theorem) misses it by at most max_k w_k times the total variation TV of g. TV is
   * estimated from g on 1024 points (an estimate from below, so the bound takes it twice); the
   * tolerance thus shrinks as 1/steps. Float32 rounding adds 1e-4 of |f(x) - f(b)| at most.
   */
  async function check(model: Model, x: Float32Array) {
    const per = x.length;
    const f = await model.forward(x);
    const b = await model.forward(new Float32Array(per));
    const K = 1024;
    const path = new Float32Array(K * per);
    for (let k = 0; k < K; k++) for (let i = 0; i < per; i++) path[k * per + i] = ((k + 0.5) / K) * x[i];
    const first = await model.attribute(x, { method: 'gradient' });
    const t = first.targets[0];
    const { gradient } = await model.gradient(path, { batch: K, target: Array(K).fill(t) });
    const g = Array.from({ length: K }, (_, k) => {
      let s = 0;
      for (let i = 0; i < per; i++) s += gradient[k * per + i] * x[i];
      return s;
    });
    let tv = 0;
    for (let k = 1; k < K; k++) tv += Math.abs(g[k] - g[k - 1]);
    const delta = f[t] - b[t];
    const errors: number[] = [];
    for (const integration of ['gauss-legendre', 'riemann-left', 'riemann-right', 'riemann-middle'] as const) {
      for (const steps of [8, 64, 256]) {
        const r = await model.attribute(x, { method: 'integrated-gradients', steps, integration, target: t, internalBatch: 16 });
        const error = Math.abs(sum(r.attribution) - delta);
        const { weights } = quadrature(integration, steps);
        expect(error).toBeLessThanOrEqual(2 * Math.max(...weights) * tv + 1e-4 * Math.abs(delta));
        errors.push(error);
      }
    }
    return { errors, delta, tv };
  }

  it('on random ReLU models', async () => {
    for (const recipe of fc.sample(recipeArb(), { numRuns: 5, seed: 29 })) {
      const model = buildRecipe(recipe);
      await check(model, randomInput(model, 7));
    }
  });

  it('on ResNet-50 (random weights, 64 x 64, width 16)', async () => {
    const model = buildModel('resnet50', { inputSize: 64, width: 16, numClasses: 10, seed: 2 });
    const x = Float32Array.from({ length: 3 * 64 * 64 }, (_, i) => 2 * Math.sin(i * 0.01));
    await check(model, x);
  }, 120_000);

  it("Captum's trapezoid quirk: (n - 1)/n of the difference on a linear model", async () => {
    const model = linearModel(1, 3, 3, 2);
    const x = Float32Array.from({ length: 9 }, (_, i) => i - 4);
    const r = await model.attribute(x, { method: 'integrated-gradients', integration: 'riemann-trapezoid', steps: 5, target: 1, backend: 'reference' });
    const f = await model.forward(x, { backend: 'reference' });
    const b = await model.forward(new Float32Array(9), { backend: 'reference' });
    close([sum(r.attribution)], [(4 / 5) * (f[1] - b[1])], 1e-6);
  });
});

/** Flatten then Linear(C H W -> k), weights w[o, i] = (i + 1) * (o + 1) / 10 - 0.3, bias 0.5. */
function linearModel(C: number, H: number, W: number, k: number): Model {
  const n = C * H * W;
  const weight = Float32Array.from({ length: k * n }, (_, j) => ((j % n) + 1) * (Math.floor(j / n) + 1) / 10 - 0.3);
  return new Model(new Graph({ name: 'x', shape: [C, H, W] }, [
    { op: 'Flatten', name: 'flat', inputs: ['x'] },
    { op: 'Linear', name: 'fc', inputs: ['flat'], inFeatures: n, outFeatures: k, weight, bias: new Float32Array(k).fill(0.5) },
  ]));
}

describe('SmoothGrad', () => {
  const model = buildModel('resnet18', { inputSize: 32, width: 8, numClasses: 10, seed: 1 });
  const x = Float32Array.from({ length: 3 * 32 * 32 }, (_, i) => Math.sin(i * 0.37) * 1.5);

  it('with noise 0 equals its inner method, bit for bit (gradient and LRP)', async () => {
    for (const inner of ['gradient', 'gradient-x-input', { method: 'lrp', composite: 'epsilon-plus-flat' }] as const) {
      const alone = typeof inner === 'string' ? await model.attribute(x, { method: inner }) : await model.attribute(x, inner);
      const smooth = await model.attribute(x, { method: 'smoothgrad', noise: 0, samples: 6, inner, target: alone.targets[0] });
      expect(Buffer.from(smooth.attribution.buffer).equals(Buffer.from(alone.attribution.buffer))).toBe(true);
    }
  });

  it('with a seed repeats bit for bit, and another seed differs', async () => {
    const run = (seed: number) => model.attribute(x, { method: 'smoothgrad', samples: 5, seed });
    const [a, b, c] = [await run(4), await run(4), await run(5)];
    expect(Buffer.from(a.attribution.buffer).equals(Buffer.from(b.attribution.buffer))).toBe(true);
    expect(Buffer.from(a.attribution.buffer).equals(Buffer.from(c.attribution.buffer))).toBe(false);
  });

  it('over LRP: finite, and the noise average stays close to LRP at small noise', async () => {
    const lrp = await model.attribute(x, { method: 'lrp', composite: 'epsilon-plus-flat' });
    const smooth = await model.attribute(x, { method: 'smoothgrad', noise: 0.01, samples: 8, inner: { method: 'lrp', composite: 'epsilon-plus-flat' } });
    expect(smooth.settings).toMatchObject({ method: 'smoothgrad', inner: { method: 'lrp', composite: 'epsilon-plus-flat' } });
    expect(smooth.attribution.every(Number.isFinite)).toBe(true);
    let dot = 0;
    let a2 = 0;
    let b2 = 0;
    for (let i = 0; i < x.length; i++) {
      dot += smooth.attribution[i] * lrp.attribution[i];
      a2 += smooth.attribution[i] ** 2;
      b2 += lrp.attribution[i] ** 2;
    }
    // 1% noise moves few ReLUs: the maps stay alike (measured cosine 0.9+), yet differ (noise was added).
    expect(dot / Math.sqrt(a2 * b2)).toBeGreaterThan(0.8);
    expect(Buffer.from(smooth.attribution.buffer).equals(Buffer.from(lrp.attribution.buffer))).toBe(false);
  });
});

describe('Grad-CAM', () => {
  it('on a tiny net equals numbers computed by hand', async () => {
    // x: 1 x 4 x 4, conv 1x1 stride 2 into 2 channels (weights 1 and -1, no bias) -> ReLU -> GAP -> Linear.
    // A = [relu(x), relu(-x)] at the 2 x 2 positions (0,0) (0,2) (2,0) (2,2). Linear weights for class 0:
    // [2, -1]. d logit_0 / d A_c = W[0, c] / 4 everywhere: means 0.5 and -0.25.
    const graph = new Graph({ name: 'x', shape: [1, 4, 4] }, [
      { op: 'Conv2d', name: 'conv', inputs: ['x'], inChannels: 1, outChannels: 2, kernel: [1, 1], stride: [2, 2], pads: [0, 0, 0, 0], dilation: [1, 1], groups: 1, weight: Float32Array.from([1, -1]), bias: null },
      { op: 'ReLU', name: 'relu', inputs: ['conv'] },
      { op: 'GlobalAvgPool', name: 'gap', inputs: ['relu'] },
      { op: 'Flatten', name: 'flat', inputs: ['gap'] },
      { op: 'Linear', name: 'fc', inputs: ['flat'], inFeatures: 2, outFeatures: 2, weight: Float32Array.from([2, -1, 1, 1]), bias: null },
    ]);
    const model = new Model(graph);
    const x = Float32Array.from([4, 9, -2, 9, 9, 9, 9, 9, -8, 9, 6, 9, 9, 9, 9, 9]);
    // positions: x = 4, -2, -8, 6. cam = relu(0.5 relu(x) - 0.25 relu(-x)) = [2, 0 (-0.5), 0 (-2), 3]
    for (const backend of ['reference', 'wasm'] as const) {
      const r = await model.attribute(x, { method: 'grad-cam', target: 0, backend });
      expect(r.settings.layer).toBe('relu');
      expect(r.shading).toBe('positive');
      expect(r.camShape).toEqual([2, 2]);
      close(r.cam!, [2, 0, 0, 3], 1e-6);
      // Bilinear 2 -> 4 (align_corners false): a row [a, b] becomes [a, 3a/4 + b/4, a/4 + 3b/4, b].
      const up = (a: number, b: number) => [a, 0.75 * a + 0.25 * b, 0.25 * a + 0.75 * b, b];
      const top = up(2, 0);
      const bottom = up(0, 3);
      const rows = [0, 1, 2, 3].map((i) => up(top[i], bottom[i]));
      const expected = [0, 1, 2, 3].flatMap((y) => rows.map((col) => col[y]));
      expect(r.shape).toEqual([1, 1, 4, 4]);
      close(r.attribution, expected, 1e-6);
    }
  });

  it('defaults to the last activation before the global pool (a VGG: before its last max-pool)', () => {
    const expected: Record<string, [string, string]> = {
      resnet50: ['layer4.2.relu', 'GlobalAvgPool'],
      resnext50_32x4d: ['layer4.2.relu', 'GlobalAvgPool'],
      vgg16: ['features.29', 'MaxPool2d'],
      vgg16_bn: ['features.42', 'MaxPool2d'],
      mobilenet_v2: ['features.18.2', 'GlobalAvgPool'],
      mobilenet_v3_small: ['features.12.2', 'GlobalAvgPool'],
      densenet121: ['features.relu5', 'GlobalAvgPool'],
      efficientnet_b0: ['features.8.2', 'GlobalAvgPool'],
    };
    for (const [arch, [layer, next]] of Object.entries(expected)) {
      const model = buildModel(arch, { inputSize: 64, width: 8, numClasses: 10, hidden: 16 });
      const graph = model.canonicalGraph();
      const up = graph.upstream(graph.logitsName);
      const at = up.findIndex((n) => n.name === layer);
      expect(at, arch).toBeGreaterThan(0);
      expect(up[at + 1].op, arch).toBe(next);
    }
  });

  it('names the layers it can use when given one that is not there', async () => {
    const model = buildModel('resnet18', { inputSize: 32, width: 8, numClasses: 10 });
    await expect(model.attribute(new Float32Array(3 * 32 * 32), { method: 'grad-cam', layer: 'nope' })).rejects.toThrow(/"nope" is not a node.*layer3\.1\.relu/);
  });
});

describe('occlusion', () => {
  it('a 1-pixel window on a linear model is weight x (input - fill)', async () => {
    const model = linearModel(1, 3, 4, 3);
    const x = Float32Array.from({ length: 12 }, (_, i) => Math.cos(i) * 2);
    const r = await model.attribute(x, { method: 'occlusion', window: 1, fill: 0.25, target: 2, backend: 'reference' });
    const w = model.graph.nodes[1].op === 'Linear' ? model.graph.nodes[1].weight : new Float32Array();
    close(r.attribution, Array.from(x, (v, i) => w[2 * 12 + i] * (v - 0.25)), 1e-6);
  });

  it('over 3 channels each pixel gets its window drop, the sum over channels', async () => {
    const model = linearModel(3, 2, 2, 2);
    const x = Float32Array.from({ length: 12 }, (_, i) => i / 3 - 1);
    const r = await model.attribute(x, { method: 'occlusion', window: 1, target: 1, backend: 'reference' });
    const w = model.graph.nodes[1].op === 'Linear' ? model.graph.nodes[1].weight : new Float32Array();
    const drop = [0, 1, 2, 3].map((p) => [0, 1, 2].reduce((s, c) => s + w[12 + c * 4 + p] * x[c * 4 + p], 0));
    close(r.attribution, [0, 1, 2].flatMap(() => drop), 1e-6);
  });

  it('overlapping windows average their drops (Captum: L=5, w=3, s=1 on sum of w x gives the mean over covers)', async () => {
    // One row of 5, weights 1..5, x = 1: window drops [6, 9, 12] at starts 0, 1, 2. Element e's mean
    // over the windows covering it: [6, 7.5, 9, 10.5, 12].
    const model = new Model(new Graph({ name: 'x', shape: [1, 1, 5] }, [
      { op: 'Flatten', name: 'flat', inputs: ['x'] },
      { op: 'Linear', name: 'fc', inputs: ['flat'], inFeatures: 5, outFeatures: 1, weight: Float32Array.from([1, 2, 3, 4, 5]), bias: null },
    ]));
    const r = await model.attribute(new Float32Array(5).fill(1), { method: 'occlusion', window: [1, 3], stride: [1, 1], target: 0, backend: 'reference' });
    close(r.attribution, [6, 7.5, 9, 10.5, 12], 1e-9);
  });

  it('refuses a stride larger than its window', async () => {
    await expect(linearModel(1, 4, 4, 2).attribute(new Float32Array(16), { method: 'occlusion', window: 2, stride: 3 })).rejects.toThrow(/stride 3 x 3 is larger than the window/);
  });
});

describe('LIME', () => {
  it('on a linear model with a grid recovers each segment contribution', async () => {
    // f(x') = b + sum_s z_s (w_s . (x_s - fill_s)) + w . fill: exactly linear in the masks z, so the
    // weighted least-squares fit recovers each segment's w_s . (x_s - fill_s), to the float32 rounding
    // of the logits it is given (1e-5 of contributions of about 10), and Ridge's alpha 1 shrinks it slightly.
    const model = linearModel(1, 8, 8, 2);
    const x = Float32Array.from({ length: 64 }, (_, i) => Math.sin(i * 0.7) * 3);
    const labels = gridSegments(8, 8, 4);
    const w = model.graph.nodes[1].op === 'Linear' ? model.graph.nodes[1].weight : new Float32Array();
    const contribution = [0, 0, 0, 0];
    for (let i = 0; i < 64; i++) contribution[labels[i]] += w[64 + i] * (x[i] - 0.5);
    const exact = await model.attribute(x, { method: 'lime', segments: labels, fill: 0.5, fit: 'least-squares', samples: 50, target: 1, backend: 'reference' });
    close(Array.from(labels, (l, i) => exact.attribution[i] - contribution[l]), new Array(64).fill(0), 1e-5);
    // Ridge's alpha 1 against kernel weights summing to a few tens shrinks every coefficient towards 0,
    // keeping their direction (cosine with the contributions measured 0.999+; bound 0.99).
    const ridge = await model.attribute(x, { method: 'lime', segments: labels, fill: 0.5, samples: 500, target: 1, backend: 'reference' });
    const coef = [0, 1, 2, 3].map((s) => ridge.attribution[labels.indexOf(s)]);
    const dot = coef.reduce((a, c, i) => a + c * contribution[i], 0);
    const norm = (v: number[]) => Math.sqrt(v.reduce((a, c) => a + c * c, 0));
    expect(dot / (norm(coef) * norm(contribution))).toBeGreaterThan(0.99);
    expect(norm(coef)).toBeLessThan(norm(contribution));
  });

  it('a weighted ridge fit equals the normal equations solved by hand', () => {
    // X = [[1, 0], [0, 1], [1, 1], [0, 0]], y = [3, 1, 4.5, 0.2], weights [1, 2, 1, 1], alpha 0:
    // the weighted least-squares solution of y = b + X beta, solved independently below by Cramer's rule.
    const X = [1, 0, 0, 1, 1, 1, 0, 0];
    const y = [3, 1, 4.5, 0.2];
    const wt = [1, 2, 1, 1];
    const { coefficients, intercept } = weightedLinearFit(X, y, wt, 2, 0);
    // Normal equations in (b, beta1, beta2): [[S, Sx1, Sx2], [Sx1, Sx1x1, Sx1x2], [Sx2, Sx1x2, Sx2x2]]
    const A = [[5, 2, 3], [2, 2, 1], [3, 1, 3]];
    const rhs = [3 + 2 + 4.5 + 0.2, 3 + 4.5, 2 + 4.5];
    const det = (m: number[][]) => m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
    const solve = (j: number) => det(A.map((row, i) => row.map((v, k) => (k === j ? rhs[i] : v)))) / det(A);
    close([intercept, ...coefficients], [solve(0), solve(1), solve(2)], 1e-12);
  });
});

describe('SLIC', () => {
  it("places skimage's regular grid of centres", () => {
    // skimage: (224, 224, 100) -> start 11, step 22; (480, 640, 100) -> start 27, step 55.
    expect(regularGrid(224, 224, 100)).toEqual({ startY: 11, stepY: 22, startX: 11, stepX: 22 });
    expect(regularGrid(480, 640, 100)).toEqual({ startY: 27, stepY: 55, startX: 27, stepX: 55 });
  });

  it('splits two flat colour halves along their edge, and labels from 0 in raster order', () => {
    const h = 20;
    const w = 20;
    const image = new Float64Array(h * w * 3);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) image.set(x < 10 ? [1, 0, 0] : [0, 0, 1], (y * w + x) * 3);
    const labels = slic(image, h, w, 3, { segments: 4 });
    expect(labels[0]).toBe(0);
    // No superpixel holds both colours: colour distance outweighs the spatial term across the edge.
    const colourOf = new Map<number, number>();
    for (let p = 0; p < h * w; p++) {
      const c = p % w < 10 ? 0 : 1;
      expect(colourOf.get(labels[p]) ?? c).toBe(c);
      colourOf.set(labels[p], c);
    }
    const seen = [...new Set(labels)];
    expect(seen).toEqual(seen.map((_, i) => i));
  });
});

describe('bad requests', () => {
  const model = buildModel('resnet18', { inputSize: 32, width: 8, numClasses: 10 });
  const x = new Float32Array(3 * 32 * 32);
  it('fail clearly, naming the method, the parameter or the size, before allocating', async () => {
    await expect(model.attribute(x, { method: 'shap' })).rejects.toThrow(/unknown method "shap"; methods: lrp, gradient/);
    await expect(model.attribute(x, { method: 'gradcam' } as never)).rejects.toThrow(/unknown method "gradcam" \(did you mean "grad-cam"\?\); methods:/);
    await expect(model.attribute(x, { method: 'integrated-gradients', step: 5 })).rejects.toThrow(/unknown option "step" \(did you mean "steps"\?\)/);
    await expect(model.attribute(x, { method: 'integrated-gradients', steps: 2.5 })).rejects.toThrow(/steps must be an integer >= 1, got 2.5/);
    await expect(model.attribute(x, { method: 'integrated-gradients', integration: 'simpson' })).rejects.toThrow(/unknown integration "simpson"/);
    await expect(model.attribute(x, { method: 'smoothgrad', noise: Number.NaN })).rejects.toThrow(/noise must be a finite number >= 0/);
    await expect(model.attribute(x, { method: 'smoothgrad', inner: 'nope' })).rejects.toThrow(/smoothgrad inner: unknown method "nope"/);
    // 10^9 steps of a 3 x 32 x 32 input would be 24 TiB: refused by size, nothing allocated.
    await expect(model.attribute(x, { method: 'integrated-gradients', steps: 1e9 })).rejects.toThrow(/1000000000 steps x 1 image would take \d+ MiB at once, over 2 GiB/);
    await expect(model.attribute(x, { method: 'smoothgrad', samples: 1e9 })).rejects.toThrow(/MiB at once, over 2 GiB/);
    await expect(model.attribute(x, { method: 'lime', segments: [1, 2] })).rejects.toThrow(/segments has 2 labels; one image has 32 x 32 = 1024 pixels/);
    await expect(model.attribute(x, { method: 'occlusion', window: 40 })).rejects.toThrow(/window must be an integer or \[h, w\] of integers between 1 and the input's 32 x 32/);
    await expect(model.attribute(x, { method: 'grad-cam', target: 10 })).rejects.toThrow(/target/);
  });
});
