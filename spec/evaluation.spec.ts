/**
 * The faithfulness metrics by hand: closed-form curves on linear models (the score after perturbing a
 * set of positions is the logit minus their w (x - fill)), how ties are ordered, Quantus's padding, RISE's
 * blur kernel, that a curve runs as batched passes, and bad requests.
 */
import { describe, expect, it } from 'vitest';
import { aopc, auc, evaluate, Graph, Model, type EvaluateOptions } from '../src/index.js';
import { Random } from '../src/attribution/random.js';
import { blur, blurTaps } from '../src/evaluation/blur.js';
import { curvesSvg } from '../src/evaluation/curves-plot.js';
import { padding } from '../src/evaluation/metrics/region-perturbation.js';
import { ranking } from '../src/evaluation/order.js';
import type { InputChange } from '../src/graph/input-change.js';

/** logit_k = sum_i w_ki x_i (no bias), k classes. */
function linear(C: number, H: number, W: number, w: Float32Array, k = 1): Model {
  const n = C * H * W;
  return new Model(new Graph({ name: 'x', shape: [C, H, W] }, [
    { op: 'Flatten', name: 'flat', inputs: ['x'] },
    { op: 'Linear', name: 'fc', inputs: ['flat'], inFeatures: n, outFeatures: k, weight: w, bias: null },
  ]));
}

const run = (m: Model, x: Float32Array, a: Float32Array, o: Omit<EvaluateOptions, 'threads'>) => evaluate(m, x, a, { threads: 1, score: 'logit', ...o } as EvaluateOptions);
const closeTo = (ours: ArrayLike<number>, theirs: ArrayLike<number>, tol = 1e-5) => {
  expect(ours.length).toBe(theirs.length);
  for (let i = 0; i < theirs.length; i++) expect(Math.abs(ours[i] - theirs[i]), `at ${i}`).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(theirs[i])));
};

describe('region perturbation', () => {
  it('2 x 2 by hand: 1-pixel regions, most relevant first', async () => {
    const m = linear(1, 2, 2, Float32Array.from([1, 2, 3, 4]));
    const x = new Float32Array([1, 1, 1, 1]);
    const r = await run(m, x, Float32Array.from([1, 2, 3, 4]), { metric: 'region-perturbation', patch: 1, fill: 0, target: 0 });
    // Pixels 3, 2, 1, 0 go in turn: 10, 6, 3, 1, 0.
    closeTo(r.curves[0], [10, 6, 3, 1, 0]);
    expect(r.aopc[0]).toBeCloseTo((0 + 4 + 7 + 9 + 10) / 5, 5);
    expect(r.auc[0]).toBeCloseTo((10 + 6 + 3 + 1 + 0 - 5 - 0) / 4, 5);
    expect(r.settings).toMatchObject({ metric: 'region-perturbation', patch: 1, order: 'morf', fill: 0, score: 'logit' });
  });

  it('on a linear model, the MoRF curve is the logit minus the regions w (x - fill) in falling order (padded, cropped)', async () => {
    const [C, H, W] = [3, 7, 7];
    const n = C * H * W;
    const w = Float32Array.from({ length: n }, (_, i) => Math.sin(0.9 * i) + 0.1);
    const x = Float32Array.from({ length: n }, (_, i) => Math.cos(0.4 * i));
    const fill = 0.25;
    const contribution = Float32Array.from(w, (wi, i) => wi * (x[i] - fill));
    for (const order of ['morf', 'lerf'] as const) {
      const r = await run(linear(C, H, W, w), x, contribution, { metric: 'region-perturbation', patch: 3, fill, order, steps: 100 });
      // 7 = 1 + 3 + 3 with a padding of 1 before and 1 after: a 3 x 3 grid of regions.
      const [top] = padding(7, 3);
      const regions = new Float64Array(9);
      for (let c = 0; c < C; c++) for (let i = 0; i < H; i++) for (let j = 0; j < W; j++) regions[Math.floor((i + top) / 3) * 3 + Math.floor((j + top) / 3)] += contribution[(c * H + i) * W + j];
      const sorted = [...regions].sort((a, b) => (order === 'morf' ? b - a : a - b));
      const logit = w.reduce((s, wi, i) => s + wi * x[i], 0);
      const expected = [logit];
      for (const v of sorted) expected.push(expected[expected.length - 1] - v);
      closeTo(r.curves[0], expected, 1e-4);
      expect(r.curves[0].length).toBe(10);
      closeTo([r.aopc[0], r.auc[0]], [aopc(expected), auc(expected)], 1e-4);
    }
  });

  it('ties fall by position, the lower first, in either order; random is seeded', async () => {
    const w = Float32Array.from([1, 10, 100, 1000]);
    const m = linear(1, 2, 2, w);
    const x = new Float32Array([1, 1, 1, 1]);
    for (const order of ['morf', 'lerf'] as const) {
      const r = await run(m, x, new Float32Array(4), { metric: 'region-perturbation', patch: 1, fill: 0, order });
      closeTo(r.curves[0], [1111, 1110, 1100, 1000, 0]);
    }
    // 'random' is a seeded shuffle: the same seed repeats, the seeds differ, each a permutation (the
    // curve's drops are the weights 1, 10, 100, 1000 in some order).
    const order = async (seed: number) => {
      const r = await run(m, x, new Float32Array(4), { metric: 'region-perturbation', patch: 1, fill: 0, order: 'random', seed });
      return Array.from(r.curves[0].subarray(1), (v, k) => Math.round(r.curves[0][k] - v));
    };
    const drops = await Promise.all([0, 1, 2, 3, 4, 5].map(order));
    for (const d of drops) expect([...d].sort((p, q) => p - q)).toEqual([1, 10, 100, 1000]);
    expect(await order(3)).toEqual(drops[3]);
    expect(new Set(drops.map((d) => d.join())).size).toBeGreaterThan(2);
  });

  it("a batch's curves equal each image's alone, random order and 'uniform' fill included", async () => {
    const w = Float32Array.from({ length: 3 * 8 * 8 }, (_, i) => Math.sin(i));
    const m = linear(3, 8, 8, w);
    const xs = Float32Array.from({ length: 2 * 192 }, (_, i) => Math.cos(0.3 * i));
    const maps = Float32Array.from({ length: 2 * 192 }, (_, i) => Math.sin(0.7 * i));
    const o = { metric: 'region-perturbation', patch: 2, steps: 9, order: 'random', fill: 'uniform', seed: 7 } as const;
    const both = await run(m, xs, maps, { ...o, batch: 2 });
    for (let b = 0; b < 2; b++) {
      const alone = await run(m, xs.subarray(b * 192, (b + 1) * 192), maps.subarray(b * 192, (b + 1) * 192), o);
      expect(Array.from(both.curves[b])).toEqual(Array.from(alone.curves[0]));
    }
  });

  it("Quantus's padding: half before (floor), the rest after", () => {
    expect(padding(32, 8)).toEqual([0, 0]);
    expect(padding(32, 5)).toEqual([1, 2]);
    expect(padding(7, 3)).toEqual([1, 1]);
    expect(padding(224, 9)).toEqual([0, 1]);
    expect(padding(30, 8)).toEqual([1, 1]);
  });
});

describe('ranking', () => {
  it('stable in both directions', () => {
    const r = new Random(0);
    expect(Array.from(ranking([1, 3, 3, 2, 3], 'morf', r))).toEqual([1, 2, 4, 3, 0]);
    expect(Array.from(ranking([1, 3, 3, 2, 3], 'lerf', r))).toEqual([0, 3, 1, 2, 4]);
    expect(Array.from(ranking([1, 3, 3, 2, 3], 'random', new Random(1))).sort()).toEqual([0, 1, 2, 3, 4]);
  });
});

describe('pixel flipping', () => {
  it("a one-channel map flips whole pixels; the image's channels, single values", async () => {
    const [C, H, W] = [3, 2, 2];
    const w = Float32Array.from({ length: 12 }, (_, i) => i + 1);
    const m = linear(C, H, W, w);
    const x = new Float32Array(12).fill(1);
    // Pixel p's three channels together weigh (p + 1) + (p + 5) + (p + 9) = 3p + 15: 15, 18, 21, 24.
    const one = await run(m, x, Float32Array.from([0.4, 0.1, 0.3, 0.2]), { metric: 'pixel-flipping', pixelsPerStep: 1, fill: 0 });
    // Order 0, 2, 3, 1.
    closeTo(one.curves[0], [78, 78 - 15, 78 - 15 - 21, 78 - 15 - 21 - 24, 0]);
    const full = await run(m, x, Float32Array.from(w, (v) => -v), { metric: 'pixel-flipping', pixelsPerStep: 5, fill: 0 });
    // Least weight first (the map is -w): values 1..5, 6..10, 11..12.
    closeTo(full.curves[0], [78, 78 - 15, 78 - 15 - 40, 0]);
    expect(full.settings).toMatchObject({ pixelsPerStep: 5, steps: 3 });
  });

  it("'black' is the smallest value of the image as flipped so far (Quantus: one value per image, all channels)", async () => {
    const m = linear(1, 1, 3, Float32Array.from([1, 1, 1]));
    const r = await run(m, Float32Array.from([5, -2, 7]), Float32Array.from([3, 2, 1]), { metric: 'pixel-flipping', pixelsPerStep: 1 });
    closeTo(r.curves[0], [10, 3, 3, -6]);
  });
});

describe('deletion and insertion', () => {
  it('deletion of a linear model by hand; insertion from the blurred image to the image', async () => {
    const [C, H, W] = [2, 3, 3];
    const w = Float32Array.from({ length: 18 }, (_, i) => (i % 9) + 1 + (i >= 9 ? 0.5 : 0));
    const x = Float32Array.from({ length: 18 }, (_, i) => 1 + 0.1 * i);
    const m = linear(C, H, W, w);
    // The map summed over channels ranks pixel 8 first, then 7, ... (weights grow with the position).
    const map = Float32Array.from({ length: 18 }, (_, i) => i % 9);
    const d = await run(m, x, map, { metric: 'deletion', pixelsPerStep: 4 });
    const logit = (v: Float32Array) => v.reduce((s, xi, i) => s + w[i] * xi, 0);
    const kept = (gone: number[]) => logit(Float32Array.from(x, (xi, i) => (gone.includes(i % 9) ? 0 : xi)));
    closeTo(d.curves[0], [kept([]), kept([8, 7, 6, 5]), kept([8, 7, 6, 5, 4, 3, 2, 1]), 0], 1e-5);
    const ins = await run(m, x, map, { metric: 'insertion', pixelsPerStep: 9 });
    closeTo(ins.curves[0], [logit(blur(x, 1, [C, H, W])), logit(x)], 1e-5);
    expect(ins.settings).toMatchObject({ fill: 'blur', pixelsPerStep: 9, steps: 1 });
  });

  it("RISE's kernel: scipy's gaussian_filter(delta, 5) on 11 cells, summing to 1; zero beyond the edges", () => {
    // scipy 1.17: gaussian_filter of an 11 x 11 delta, sigma 5, its middle row / its centre value.
    const g = blurTaps();
    closeTo(g, [0.08795815, 0.08889612, 0.0904742, 0.09219112, 0.09348939, 0.09398206, 0.09348939, 0.09219112, 0.0904742, 0.08889612, 0.08795815], 1e-7);
    expect(g.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 14);
    const flat = blur(new Float32Array(31 * 31).fill(2), 1, [1, 31, 31]);
    expect(flat[15 * 31 + 15]).toBeCloseTo(2, 6);
    // A corner keeps the taps over the image only: (sum of g[5..10])^2 of the value.
    const half = g.slice(5).reduce((s, v) => s + v, 0);
    expect(flat[0]).toBeCloseTo(2 * half * half, 6);
  });
});

describe('evaluate', () => {
  it('a region-perturbation curve of 64 steps is one series of 64 one-region changes; other curves are batched passes (64 + 37 images), not 101 calls', async () => {
    const m = linear(3, 16, 16, Float32Array.from({ length: 768 }, (_, i) => Math.sin(i)));
    const calls: string[] = [];
    const passes = m.passes.bind(m);
    m.passes = async (...a) => {
      const p = await passes(...a);
      return {
        ...p,
        forward: (x: Float32Array, n: number) => (calls.push(`forward ${n}`), p.forward(x, n)),
        forwardSeries: (start: Float32Array, changes: readonly InputChange[]) => {
          calls.push(`series ${changes.length}: ${[...new Set(changes.map((c) => `${c.box[1] - c.box[0]}x${c.box[3] - c.box[2]}`))]}`);
          return p.forwardSeries(start, changes);
        },
      };
    };
    const x = Float32Array.from({ length: 768 }, (_, i) => Math.cos(i));
    const map = Float32Array.from({ length: 768 }, (_, i) => Math.sin(3 * i));
    const r = await run(m, x, map, { metric: 'region-perturbation', patch: 2, steps: 64, target: 0 });
    expect(r.curves[0].length).toBe(65);
    expect(calls).toEqual(['series 64: 2x2']);
    calls.length = 0;
    const f = await run(m, x, map, { metric: 'pixel-flipping', pixelsPerStep: 7, steps: 100, target: 0 });
    expect(f.curves[0].length).toBe(101);
    expect(calls).toEqual(['forward 64', 'forward 37']);
    // The series' scores are the images' own: each logit w . x_k in float64 by hand.
    const w = Float32Array.from({ length: 768 }, (_, i) => Math.sin(i));
    // Region q of the 8 x 8 grid of 2 x 2 regions: its values at channel c, offset (a, b).
    const at = (q: number, c: number, a: number, b: number) => c * 256 + (2 * Math.floor(q / 8) + a) * 16 + 2 * (q % 8) + b;
    const cells = (f: (i: number) => number, q: number) => [0, 1, 2].flatMap((c) => [0, 1].flatMap((a) => [0, 1].map((b) => f(at(q, c, a, b)))));
    const order = ranking(Float64Array.from({ length: 64 }, (_, q) => cells((i) => map[i], q).reduce((p, v) => p + v, 0)), 'morf', new Random(0));
    const image = Float64Array.from(x);
    const low = Math.min(...x);
    const expected = [0];
    for (let k = 0; k <= 64; k++) {
      if (k > 0) {
        cells((i) => (image[i] = low), order[k - 1]);
      }
      expected[k] = image.reduce((s, v, i) => s + v * w[i], 0);
    }
    closeTo(r.curves[0], expected, 1e-5);
  });

  it("the plot's text is escaped: a method's or photo's name adds no markup", async () => {
    const svg = await curvesSvg([{ method: '<script>x</script>&', curves: [[1, 0.5, 0.2]] }], { title: '<img src=x onerror=alert(1)>.png', x: 'a', y: 'b' });
    expect(svg).not.toMatch(/<script|<img/);
    expect(svg).toContain('&lt;script&gt;x&lt;/script&gt;&amp;');
  });

  it('refuses bad requests, naming the problem', async () => {
    const m = linear(1, 4, 4, new Float32Array(16).fill(1));
    const x = new Float32Array(16);
    const a = new Float32Array(16);
    const bad = async (o: Record<string, unknown>, map = a, re: RegExp) => expect(evaluate(m, x, map, { threads: 1, ...o } as EvaluateOptions)).rejects.toThrow(re);
    await bad({ metric: 'pixel-flips' }, a, /unknown metric "pixel-flips"; known: region-perturbation, pixel-flipping, deletion, insertion/);
    await bad({ metric: 'deletoin' }, a, /unknown metric "deletoin" \(did you mean "deletion"\?\); known: /);
    await bad({ metric: 'deletion' }, new Float32Array(15), /attribution has 15 values/);
    await bad({ metric: 'deletion' }, Float32Array.from({ length: 16 }, (_, i) => (i === 5 ? NaN : 0)), /attribution\[5\] is NaN/);
    await bad({ metric: 'region-perturbation', patch: 5 }, a, /patch must be at most/);
    await bad({ metric: 'deletion', order: 'lerf' }, a, /unknown order "lerf"; known: morf/);
    await bad({ metric: 'deletion', fill: 'grey' }, a, /unknown fill "grey"/);
    await bad({ metric: 'insertion', steps: 0 }, a, /steps must be an integer >= 1/);
    await bad({ metric: 'insertion', colour: 1 }, a, /colour/);
    await bad({}, a, /options\.metric is required: one of region-perturbation/);
    await bad({ metric: 'randomisation' }, a, /randomisation\(model, input, \{ method \}, options\)/);
  });
});
