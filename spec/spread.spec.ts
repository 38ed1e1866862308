/**
 * Image-parallel passes (src/model/spread-passes.ts, src/model/replica.ts): how a call's images are
 * cut, that replicas on worker threads run pieces and give what one engine gives, bit for bit, and that
 * a replica's error or end fails the call with a clear error instead of a hang.
 */
import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { ROOT } from './helpers/cli.js';
import { buildModel, resolveComposite } from '../src/index.js';
import { enginePasses } from '../src/model/passes.js';
import { Replica, ReplicaSet } from '../src/model/replica.js';
import { cut, spreadPasses, type PassRunner } from '../src/model/spread-passes.js';
import { WasmEngine } from '../src/wasm/engine.js';
import { defaultKernelBuild } from '../src/wasm/load.js';

describe('cut: pieces of a call', () => {
  it('the runners times the rounds, at most chunk images each, sizes differing by one at most', () => {
    expect(cut(17, 2, 4)).toEqual([[0, 3], [3, 3], [6, 3], [9, 3], [12, 3], [15, 2]]);
    expect(cut(8, 2, 4)).toEqual([[0, 4], [4, 4]]);
    expect(cut(9, 2, 4)).toEqual([[0, 3], [3, 2], [5, 2], [7, 2]]);
    expect(cut(3, 2, 4)).toEqual([[0, 2], [2, 1]]);
    expect(cut(5, 4, 4)).toEqual([[0, 2], [2, 1], [3, 1], [4, 1]]);
    expect(cut(3, 8, 4)).toEqual([[0, 1], [1, 1], [2, 1]]);
    expect(cut(50, 3, 4)).toEqual(Array.from({ length: 15 }, (_, i) => [i < 5 ? 4 * i : 20 + 3 * (i - 5), i < 5 ? 4 : 3]));
    for (const [n, r, c] of [[1, 2, 4], [7, 2, 1], [100, 4, 8], [5, 8, 4], [101, 2, 4]]) {
      const pieces = cut(n, r, c);
      expect(pieces.reduce((s, [, m]) => s + m, 0)).toBe(n);
      expect(pieces.length === n || pieces.length % r === 0).toBe(true);
      const sizes = pieces.map(([, m]) => m);
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
      pieces.forEach(([at, m], i) => {
        expect(at).toBe(i === 0 ? 0 : pieces[i - 1][0] + pieces[i - 1][1]);
        expect(m).toBeGreaterThan(0);
        expect(m).toBeLessThanOrEqual(c);
      });
    }
  });
});

describe('replicas', () => {
  const model = buildModel('resnet18', { inputSize: 32, width: 8, numClasses: 10, seed: 3 });
  const graph = model.canonicalGraph(true);
  const per = 3 * 32 * 32;
  const n = 7;
  const x = Float32Array.from({ length: n * per }, (_, i) => Math.sin(i * 0.37) + 0.3 * Math.cos(i * 0.011));
  const build = defaultKernelBuild();
  const replicas = new ReplicaSet(model.graph, model.info.inputRange);
  afterAll(() => replicas.dispose());

  async function setup() {
    const engine = await WasmEngine.create(undefined, build);
    const local = enginePasses({ engine, threads: 1, graph: (fold) => model.canonicalGraph(fold), chunk: 2 });
    const two = await replicas.get(2, build);
    // Counts the images each replica was given, so the test knows both ran.
    const seen = [0, 0];
    const counted = (r: PassRunner, i: number): PassRunner => ({
      forward: (x, m) => ((seen[i] += m), r.forward(x, m)),
      forwardSeries: (x, changes) => ((seen[i] += changes.length + 1), r.forwardSeries(x, changes)),
      gradient: (x, m, t) => ((seen[i] += m), r.gradient(x, m, t)),
      lrp: (x, m, t, c) => ((seen[i] += m), r.lrp(x, m, t, c)),
      layerGradient: (x, m, t, l) => ((seen[i] += m), r.layerGradient(x, m, t, l)),
    });
    const spread = spreadPasses(local, async () => two.map(counted), 2);
    return { local, spread, seen, replica: two[0] };
  }

  it('every pass, spread over two replicas, equals one engine bit for bit', async () => {
    const { local, spread, seen } = await setup();
    const targets = [3, undefined, 0, 9, undefined, 1, 2];
    const same = (a: Float32Array, b: Float32Array) => expect(a.length === b.length && a.every((v, i) => Object.is(v, b[i]))).toBe(true);
    same(await spread.forward(x, n), await local.forward(x, n));
    const g = await spread.gradient(x, n, targets);
    const h = await local.gradient(x, n, targets);
    same(g.gradient, h.gradient);
    same(g.logits, h.logits);
    expect(g.targets).toEqual(h.targets);
    const composite = resolveComposite('epsilon-gamma-box');
    const r = await spread.lrp(x, n, targets, composite);
    same(r.relevance, (await local.lrp(x, n, targets, composite)).relevance);
    const layer = graph.nodes[graph.nodes.length - 3].name;
    const l = await spread.layerGradient(x, n, targets, layer);
    const k = await local.layerGradient(x, n, targets, layer);
    same(l.activation, k.activation);
    same(l.gradient, k.gradient);
    // Four calls of 7 images, each cut into 4 pieces (2 per runner, claimed as they come free).
    expect(seen[0] + seen[1]).toBe(4 * n);
    expect(seen[0]).toBeGreaterThan(0);
    expect(seen[1]).toBeGreaterThan(0);
  }, 60_000);

  it('model.attribute on 2 threads (image-parallel) equals 1 thread bit for bit', async () => {
    const m = buildModel('resnet18', { inputSize: 32, width: 8, numClasses: 10, seed: 3 });
    // The 2-thread runs ask for 2 replicas (one call a method: the copies' passes; its target forward
    // of 2 images spreads too), the 1-thread runs for none.
    const asked = vi.spyOn(ReplicaSet.prototype, 'get');
    try {
      for (const [method, params] of [
        ['integrated-gradients', { steps: 5 }],
        ['smoothgrad', { samples: 3, inner: { method: 'lrp', composite: 'epsilon-plus-flat' } }],
        ['occlusion', { window: 8 }],
        ['lime', { samples: 9, segments: 'grid' }],
      ] as const) {
        asked.mockClear();
        const one = await m.attribute(x.subarray(0, 2 * per), { method, batch: 2, threads: 1, ...params } as never);
        expect(asked).not.toHaveBeenCalled();
        const two = await m.attribute(x.subarray(0, 2 * per), { method, batch: 2, threads: 2, ...params } as never);
        expect(asked.mock.calls.length, method).toBeGreaterThan(0);
        expect(asked.mock.calls.every(([count]) => count === 2)).toBe(true);
        expect(two.attribution.every((v, i) => Object.is(v, one.attribution[i])), method).toBe(true);
        expect(Array.from(two.logits)).toEqual(Array.from(one.logits));
      }
    } finally {
      asked.mockRestore();
      m.dispose();
    }
  }, 120_000);

  it("a replica's error comes back with its code; one that ends fails its jobs, and the set starts new ones", async () => {
    const { replica } = await setup();
    const bad = resolveComposite({ name: 'epsilon', overrides: [{ name: 'no-such-node', rule: 'zplus' }] });
    await expect(replica.lrp(x.subarray(0, per), 1, [0], bad)).rejects.toMatchObject({ code: 'BAD_OPTION', message: expect.stringContaining('no-such-node') });
    // A job long enough (256 images) to be running when the replica is stopped.
    const many = new Float32Array(256 * per).map((_, i) => x[i % (n * per)]);
    const pending = replica.gradient(many, 256, Array(256).fill(0));
    await replica.dispose();
    await expect(pending).rejects.toMatchObject({ code: 'WORKER_FAILED' });
    await expect(replica.forward(x.subarray(0, per), 1)).rejects.toMatchObject({ code: 'WORKER_FAILED', message: expect.stringContaining('ended') });
    const [fresh] = await replicas.get(2, build);
    expect(fresh).not.toBe(replica);
    expect((await fresh.forward(x.subarray(0, per), 1)).length).toBe(10);
  }, 60_000);

  it('replicas given no piece do not keep a process alive (3 images on 4 threads)', () => {
    const script = `
      import { buildModel } from './src/index.ts';
      const m = buildModel('resnet18', { inputSize: 32, width: 8, numClasses: 10 });
      const r = await m.attribute(new Float32Array(3 * 32 * 32).fill(0.5), { method: 'integrated-gradients', steps: 3, threads: 4, target: 1 });
      console.log('done', r.attribution.length);`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    expect(r.error, 'the process did not end within 60 s').toBeUndefined();
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^done 3072$/m);
  }, 90_000);

  it('a replica that cannot start says why', async () => {
    await expect(Replica.start(model.graph, { build, memoryLimit: 1 << 16 })).rejects.toMatchObject({ code: 'MEMORY_LIMIT' });
  }, 30_000);
});
