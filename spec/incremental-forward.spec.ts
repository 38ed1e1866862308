/**
 * The incremental forward (src/wasm/incremental-forward.ts): a series of inputs, each a box changed in
 * the one before, gives the logits a full forward of each image gives, on every architecture (residual
 * sums, explicit padding, max and average pools, depthwise and grouped convolutions, gates, concats),
 * for boxes anywhere (corners, edges, one position, the whole image, nothing), and the series spread
 * over replicas gives them too.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { ARCHITECTURES, buildModel } from '../src/index.js';
import { applyChange, changeBetween, NO_CHANGE, type InputChange } from '../src/graph/input-change.js';
import { Random } from '../src/attribution/random.js';
import { enginePasses } from '../src/model/passes.js';
import { ReplicaSet } from '../src/model/replica.js';
import { spreadPasses, type PassRunner } from '../src/model/spread-passes.js';
import { WasmEngine } from '../src/wasm/engine.js';
import { defaultKernelBuild } from '../src/wasm/load.js';

/** Boxes of every kind on an S x S image, then random ones. */
function boxes(S: number, random: Random): [number, number, number, number][] {
  const fixed: [number, number, number, number][] = [
    [0, 5, 0, 5], // a corner
    [S - 3, S, S - 7, S], // the opposite corner
    [10, 11, 13, 14], // one position
    [0, S, 20, 28], // a column band, edge to edge
    [S - 1, S, 0, S], // the last row
    [0, S, 0, S], // everything
    [17, 25, 9, 17], // an 8 x 8 patch
    [18, 26, 9, 17], // the next patch overlapping it
  ];
  const randoms = Array.from({ length: 6 }, (): [number, number, number, number] => {
    const [h, w] = [1 + Math.floor(random.uniform() * 12), 1 + Math.floor(random.uniform() * 12)];
    const [r, c] = [Math.floor(random.uniform() * (S - h + 1)), Math.floor(random.uniform() * (S - w + 1))];
    return [r, r + h, c, c + w];
  });
  return [...fixed, ...randoms];
}

function changesOn(S: number, seed: number): InputChange[] {
  const random = new Random(seed);
  return boxes(S, random).flatMap(([r0, r1, c0, c1], i) => {
    const values = Float32Array.from({ length: 3 * (r1 - r0) * (c1 - c0) }, () => random.normal());
    // A step that changes nothing, between others.
    return i === 3 ? [NO_CHANGE, { box: [r0, r1, c0, c1] as const, values }] : [{ box: [r0, r1, c0, c1] as const, values }];
  });
}

const S = 48;

describe('incremental forward', () => {
  for (const arch of ARCHITECTURES) {
    it(`${arch}: each image of a series as a full forward gives it (1e-5 of the logits' scale)`, async () => {
      const model = buildModel(arch, { inputSize: S, width: 8, numClasses: 10, hidden: 16, seed: 4 });
      const graph = model.canonicalGraph(true);
      const engine = await WasmEngine.create(undefined, defaultKernelBuild());
      const start = Float32Array.from({ length: 3 * S * S }, (_, i) => Math.sin(i * 0.37) + 0.3 * Math.cos(i * 0.011));
      const changes = changesOn(S, 7);
      const image = start.slice();
      const run = engine.incremental(graph, start);
      try {
        const series = [run.logits(), ...changes.map((c) => run.next(c))];
        run.release();
        const full = [start, ...changes].map((c) => {
          if (c !== start) applyChange(image, graph.input.shape, c as InputChange);
          const session = engine.run(graph, image, 1, 1);
          const logits = session.logits();
          session.release();
          return logits;
        });
        // Float32 sums in another order (a box by the direct GEMM where the whole map ran by Winograd):
        // ResNet-50 at 224 x 224 differed by 4e-7 of its largest logit over a 100-step curve.
        const scale = Math.max(...full.flatMap((l) => [...l].map(Math.abs)));
        const worst = Math.max(...full.flatMap((l, k) => [...l].map((v, j) => Math.abs(v - series[k][j]))));
        expect(worst).toBeLessThanOrEqual(1e-5 * scale);
        expect(scale).toBeGreaterThan(0);
      } finally {
        engine.dispose();
      }
    });
  }

  it('a change outside the input, or of the wrong size, is refused naming it', async () => {
    const model = buildModel('resnet18', { inputSize: 32, width: 8, numClasses: 10 });
    const engine = await WasmEngine.create();
    const run = engine.incremental(model.canonicalGraph(true), new Float32Array(3 * 32 * 32));
    try {
      expect(() => run.next({ box: [30, 34, 0, 2], values: new Float32Array(24) })).toThrow(/within its 32 x 32.*rows 30-34/);
      expect(() => run.next({ box: [0, 2, 0, 2], values: new Float32Array(5) })).toThrow(/5 values/);
    } finally {
      run.release();
      engine.dispose();
    }
  });

  it('changeBetween and applyChange: the box of every differing position, and back', () => {
    const [C, H, W] = [2, 5, 6];
    const a = Float32Array.from({ length: C * H * W }, (_, i) => i);
    const b = a.slice();
    b[1 * 30 + 1 * 6 + 4] = -1; // channel 1, row 1, column 4
    b[0 * 30 + 3 * 6 + 2] = -2; // channel 0, row 3, column 2
    const change = changeBetween(a, b, [C, H, W])!;
    expect(change.box).toEqual([1, 4, 2, 5]);
    expect(change.values.length).toBe(2 * 3 * 3);
    const c = a.slice();
    applyChange(c, [C, H, W], change);
    expect([...c]).toEqual([...b]);
    expect(changeBetween(a, a.slice(), [C, H, W])).toBeNull();
    expect(changeBetween(Float32Array.of(NaN), Float32Array.of(NaN), [1, 1, 1])).toBeNull();
  });
});

describe('a series spread over replicas', () => {
  const replicas = new ReplicaSet(buildModel('resnet18', { inputSize: S, width: 8, numClasses: 10, seed: 5 }).graph);
  afterAll(() => replicas.dispose());

  it('each piece a series of its own, from its own first image: the logits of the images', async () => {
    const model = buildModel('resnet18', { inputSize: S, width: 8, numClasses: 10, seed: 5 });
    const engine = await WasmEngine.create(undefined, defaultKernelBuild());
    const local = enginePasses({ engine, threads: 1, graph: (fold) => model.canonicalGraph(fold), chunk: 4 });
    const two = await replicas.get(2, defaultKernelBuild());
    const seen = [0, 0];
    const counted = (r: PassRunner, i: number): PassRunner => ({
      forward: (x, m) => r.forward(x, m),
      forwardSeries: (x, c) => ((seen[i] += c.length + 1), r.forwardSeries(x, c)),
      gradient: (x, m, t) => r.gradient(x, m, t),
      lrp: (x, m, t, c) => r.lrp(x, m, t, c),
      layerGradient: (x, m, t, l) => r.layerGradient(x, m, t, l),
    });
    const spread = spreadPasses(local, async () => two.map(counted), 4);
    const start = Float32Array.from({ length: 3 * S * S }, (_, i) => Math.cos(i * 0.13));
    const changes = changesOn(S, 9);
    const images = new Float32Array((changes.length + 1) * start.length);
    const image = start.slice();
    images.set(image);
    changes.forEach((c, i) => {
      applyChange(image, [3, S, S], c);
      images.set(image, (i + 1) * start.length);
    });
    const [ours, full] = [await spread.forwardSeries(start, changes), await local.forward(images, changes.length + 1)];
    engine.dispose();
    expect(seen).toEqual([8, 8]);
    const scale = Math.max(...[...full].map(Math.abs));
    expect(Math.max(...[...full].map((v, i) => Math.abs(v - ours[i])))).toBeLessThanOrEqual(1e-5 * scale);
  });
});
