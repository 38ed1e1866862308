/**
 * The model parameter randomisation test (src/evaluation/randomisation.ts) by hand: Spearman's rank
 * correlation against scipy's numbers, PyTorch's re-initialisation of each layer kind, the whole test on
 * a linear model (the gradient is the weights: its correlations known from the new weights), the
 * cascade's stages on a ResNet, and bad requests.
 */
import { describe, expect, it } from 'vitest';
import { buildModel, Graph, Model, randomisation } from '../src/index.js';
import { Random } from '../src/attribution/random.js';
import { parameterLayers, reset } from '../src/evaluation/randomisation.js';
import { ranks, spearman } from '../src/evaluation/spearman.js';
import type { GraphNode } from '../src/graph/nodes.js';

describe('spearman', () => {
  it("equals scipy.stats.spearmanr (ties by their mean rank: rankdata's 'average')", () => {
    // scipy 1.17: spearmanr([1,2,2,3,5,-1], [2,1,3,3,4,0]) and spearmanr([.5,.1,.9,.3], [.2,.4,.8,.1]).
    expect(spearman([1, 2, 2, 3, 5, -1], [2, 1, 3, 3, 4, 0])).toBeCloseTo(0.8676470588235294, 14);
    expect(spearman([0.5, 0.1, 0.9, 0.3], [0.2, 0.4, 0.8, 0.1])).toBeCloseTo(0.4, 14);
    expect([...ranks([10, 20, 20, 5])]).toEqual([2, 3.5, 3.5, 1]);
    expect(spearman([1, 2, 3], [3, 2, 1])).toBeCloseTo(-1, 14);
    // A constant array has no ranks' spread: NaN, as scipy.
    expect(spearman([1, 1, 1], [1, 2, 3])).toBeNaN();
    // Also for a map of an image's size, whose ranks' spread summed in floating point is not exactly 0.
    const n = 3 * 224 * 224;
    expect(spearman(Float64Array.from({ length: n }, (_, i) => Math.sin(i)), new Float64Array(n))).toBeNaN();
  });
});

describe('reset: a layer as PyTorch re-initialises it', () => {
  it('Conv2d and Linear from U(-1/sqrt(fan_in), 1/sqrt(fan_in)), weights and biases; BatchNorm the identity', () => {
    const conv = { op: 'Conv2d', name: 'c', inputs: ['x'], inChannels: 4, outChannels: 6, kernel: [3, 3], stride: [1, 1], pads: [1, 1, 1, 1], dilation: [1, 1], groups: 2, weight: new Float32Array(6 * 2 * 9).fill(5), scale: new Float64Array(6).fill(2), bias: new Float32Array(6).fill(5) } as GraphNode;
    const c = reset(conv, new Random(1)) as Extract<GraphNode, { op: 'Conv2d' }>;
    // fan_in = 4 / 2 channels a group x 3 x 3.
    const bound = 1 / Math.sqrt(18);
    for (const v of [...c.weight, ...c.bias!]) expect(Math.abs(v)).toBeLessThanOrEqual(bound);
    expect(Math.max(...c.weight.map(Math.abs))).toBeGreaterThan(0.8 * bound);
    expect(c.scale).toBeUndefined();
    const linear = { op: 'Linear', name: 'fc', inputs: ['f'], inFeatures: 100, outFeatures: 3, weight: new Float32Array(300), bias: null } as GraphNode;
    const l = reset(linear, new Random(1)) as Extract<GraphNode, { op: 'Linear' }>;
    for (const v of l.weight) expect(Math.abs(v)).toBeLessThanOrEqual(0.1);
    expect(l.bias).toBeNull();
    const bn = reset({ op: 'BatchNorm', name: 'bn', inputs: ['c'], channels: 2, gamma: Float32Array.of(3, 4), beta: Float32Array.of(1, 1), mean: Float32Array.of(2, 2), variance: Float32Array.of(9, 9), epsilon: 1e-5 } as GraphNode, new Random(1)) as Extract<GraphNode, { op: 'BatchNorm' }>;
    expect([...bn.gamma, ...bn.beta, ...bn.mean, ...bn.variance]).toEqual([1, 1, 0, 0, 0, 0, 1, 1]);
  });
});

describe('randomisation', () => {
  it("on a linear model the gradient is the target's weights: the correlation is their ranks' with the new weights'", async () => {
    const [C, H, W, k] = [1, 4, 5, 3];
    const w = Float32Array.from({ length: k * C * H * W }, (_, i) => Math.sin(i * 1.7) * (1 + (i % 7)));
    const fc = { op: 'Linear', name: 'fc', inputs: ['flat'], inFeatures: C * H * W, outFeatures: k, weight: w, bias: null } as GraphNode;
    const model = new Model(new Graph({ name: 'x', shape: [C, H, W] }, [{ op: 'Flatten', name: 'flat', inputs: ['x'] }, fc]));
    const x = Float32Array.from({ length: C * H * W }, (_, i) => Math.cos(i));
    const r = await randomisation(model, x, { method: 'gradient' }, { target: 1, threads: 1, seed: 3 });
    const fresh = reset(fc, new Random(4)) as Extract<GraphNode, { op: 'Linear' }>;
    const row = (m: Float32Array) => Array.from(m.subarray(20, 40), Math.abs);
    expect(r.layers).toEqual([{ randomised: 1, last: 'fc' }]);
    expect(r.targets).toEqual([1]);
    expect(r.correlations[0][0]).toBe(1);
    expect(r.correlations[0][1]).toBeCloseTo(spearman(row(w), row(fresh.weight)), 12);
    expect(r.mean[0]).toBe(r.correlations[0][1]);
    expect(r.last[0]).toBe(r.correlations[0][1]);
    expect(r.settings).toMatchObject({ metric: 'randomisation', method: 'gradient', steps: 1, seed: 3 });
  });

  it('cascades from the top: stage i randomises the top ceil(i L / steps) layers, keeping those before', async () => {
    const model = buildModel('resnet18', { inputSize: 32, width: 8, numClasses: 10, seed: 2 });
    const layers = parameterLayers(model.graph);
    const L = layers.length;
    const x = Float32Array.from({ length: 3 * 32 * 32 }, (_, i) => Math.sin(i * 0.1));
    const r = await randomisation(model, x, { method: 'gradient-x-input' }, { steps: 3, threads: 1 });
    const counts = [Math.ceil(L / 3), Math.ceil((2 * L) / 3), L];
    expect(r.layers.map((s) => s.randomised)).toEqual(counts);
    // The last layer randomised at each stage, counting from the top (the graph's last layer first).
    expect(r.layers.map((s) => s.last)).toEqual(counts.map((n) => layers[L - n].name));
    expect(layers[L - 1].name).toBe('fc');
    const c = r.correlations[0];
    expect(c.length).toBe(4);
    expect(c[0]).toBe(1);
    for (const v of c) expect(Math.abs(v)).toBeLessThanOrEqual(1);
    // With every layer random the map is another one altogether.
    expect(c[3]).toBeLessThan(0.9);
    expect(r.mean[0]).toBeCloseTo((c[1] + c[2] + c[3]) / 3, 14);
  });

  it('refuses bad requests, naming the problem', async () => {
    const model = buildModel('resnet18', { inputSize: 32, width: 8, numClasses: 10 });
    const x = new Float32Array(3 * 32 * 32);
    const L = parameterLayers(model.graph).length;
    await expect(randomisation(model, x, { method: 'gradient' }, { steps: L + 1 })).rejects.toThrow(new RegExp(`steps must be at most the model's ${L} layers`));
    await expect(randomisation(model, x, { method: 'gradient', target: 3 })).rejects.toThrow(/give target in the options/);
    await expect(randomisation(model, x, { method: 'gradient' }, { patch: 8 } as object)).rejects.toThrow(/patch is evaluate's/);
    await expect(randomisation(model, x, { method: 'nonsense' }, { steps: 1 })).rejects.toThrow(/nonsense/);
  });
});
