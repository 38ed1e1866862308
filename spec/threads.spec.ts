/**
 * Threads (issue 16): the wasm kernels split their large passes across worker threads over one shared
 * memory, each part writing outputs no other part touches, so results must be the same bit for bit for
 * any number of threads: checked with toEqual on random convolution layers (every kernel path: direct
 * GEMM, Winograd, strided 1x1, col2im transposes, depthwise, grouped, large dense layers) and on every
 * architecture buildModel knows, for forward, explain and gradient; concurrent calls; a worker killed
 * between calls (the main thread takes its parts, then the pool is replaced); a worker that never wakes
 * (no job waits for it); no shared memory (one thread, said once). The real ResNet-50 is checked in spec/resnet50.spec.ts.
 */
// Plain tests use vitest's it: @fast-check/vitest's runs a function of no arbitraries as a property.
import { fc, it as property } from '@fast-check/vitest';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { buildModel, Model } from '../src/index.js';
import { GraphBuilder } from '../src/architectures/layers.js';
import { ARCHITECTURES } from '../src/architectures/index.js';
import { Graph } from '../src/graph/graph.js';
import { Random } from '../src/architectures/random.js';
import { windowOut } from '../src/graph/shapes.js';
import { CONTROL } from '../src/wasm/thread-control.js';

const input = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(0.37 * i + seed) + 0.3 * Math.cos(0.05 * i));

interface Layers {
  cin: number;
  cout: number;
  k: number;
  stride: number;
  pad: number;
  size: number;
  batch: number;
  second: 'winograd' | 'depthwise' | 'grouped' | 'sampled';
  dense: boolean;
  seed: number;
}

const layers = fc.record({
  cin: fc.integer({ min: 3, max: 24 }),
  cout: fc.integer({ min: 8, max: 48 }).map((c) => c - (c % 4)),
  k: fc.constantFrom(1, 3, 5, 7),
  stride: fc.integer({ min: 1, max: 3 }),
  pad: fc.integer({ min: 0, max: 3 }),
  size: fc.integer({ min: 16, max: 40 }),
  batch: fc.integer({ min: 1, max: 3 }),
  second: fc.constantFrom('winograd' as const, 'depthwise' as const, 'grouped' as const, 'sampled' as const),
  dense: fc.boolean(),
  seed: fc.integer({ min: 0, max: 1000 }),
});

/** conv (any geometry) -> ReLU -> a second conv of the chosen kind -> ReLU -> a large dense layer or global pooling -> logits. */
function model({ cin, cout, k, stride, pad, size, second, dense, seed }: Layers): Model {
  const b = new GraphBuilder(new Random(seed));
  const p = Math.min(pad, k - 1);
  let x = b.relu('relu1', b.conv('conv1', 'input', cin, cout, k, { stride, pad: p, bias: true }));
  let s = windowOut(size, k, stride, p, p);
  if (second === 'winograd') x = b.conv('conv2', x, cout, cout, 3, { pad: 1 });
  else if (second === 'depthwise') [x, s] = [b.conv('conv2', x, cout, cout * 2, 3, { stride: 2, pad: 1, groups: cout }), windowOut(s, 3, 2, 1, 1)];
  else if (second === 'grouped') x = b.conv('conv2', x, cout, cout, 3, { pad: 1, groups: 4 });
  else [x, s] = [b.conv('conv2', x, cout, cout, 1, { stride: 2 }), windowOut(s, 1, 2, 0, 0)];
  const c2 = second === 'depthwise' ? cout * 2 : cout;
  x = b.relu('relu2', x);
  if (dense) b.linear('fc2', b.relu('relu3', b.linear('fc1', b.flatten('flat', x), c2 * s * s, 384)), 384, 5);
  else b.linear('fc', b.flatten('flat', b.globalAvgPool('gap', x)), c2, 5);
  return new Model(new Graph({ name: 'input', shape: [cin, size, size] }, b.nodes));
}

async function everything(m: Model, x: Float32Array, batch: number, threads: number): Promise<Float32Array[]> {
  const out = [await m.forward(x, { batch, threads })];
  for (const composite of ['epsilon-plus-flat', 'epsilon-gamma-box', 'epsilon-alpha2-beta1']) out.push((await m.explain(x, { batch, threads, composite, target: 1 })).relevance);
  out.push((await m.gradient(x, { batch, threads, target: 2 })).gradient);
  return out;
}

describe('results do not depend on the number of threads', () => {
  property.prop([layers], { numRuns: 20 })('random layers: forward, three composites and the gradient on 1, 2 and 3 threads, bit for bit', async (l) => {
    fc.pre(windowOut(l.size, l.k, l.stride, Math.min(l.pad, l.k - 1), Math.min(l.pad, l.k - 1)) >= 4);
    const m = model(l);
    const x = input(l.batch * l.cin * l.size * l.size, l.seed);
    const one = await everything(m, x, l.batch, 1);
    expect(await everything(m, x, l.batch, 2)).toEqual(one);
    expect(await everything(m, x, l.batch, 3)).toEqual(one);
    m.dispose();
  });

  it.each(ARCHITECTURES.filter((a) => !/^vgg1[369]|resnet1[05][12]|resnet34/.test(a)))('%s: explanation and logits on 1 and 3 threads, bit for bit', async (arch) => {
    const m = buildModel(arch, { inputSize: 64, numClasses: 10, hidden: 256, width: arch.startsWith('keras-mobilenet') || arch.startsWith('mobilenet') || arch.startsWith('efficientnet') ? 16 : 32 });
    const x = input(2 * 3 * 64 * 64, 1);
    const run = async (threads: number) => [await m.forward(x, { batch: 2, threads }), (await m.explain(x, { batch: 2, threads })).relevance];
    expect(await run(3)).toEqual(await run(1));
    m.dispose();
  });
});

describe('calls and workers', () => {
  const m = () => buildModel('resnet18', { inputSize: 64, width: 32, numClasses: 10, seed: 5 });
  it('concurrent explanations on one model (Promise.all, threads on) equal sequential ones', async () => {
    const model = m();
    const x = input(3 * 64 * 64, 2);
    const calls = [
      { composite: 'epsilon-gamma-box', target: 1 },
      { composite: 'epsilon-plus-flat', target: 4 },
      { composite: 'epsilon-alpha2-beta1', target: 1 },
      { composite: 'epsilon-gamma-box', target: 7 },
    ];
    const sequential: Float32Array[] = [];
    for (const c of calls) sequential.push((await model.explain(x, { ...c, threads: 1 })).relevance);
    const together = await Promise.all(calls.map((c) => model.explain(x, { ...c, threads: 2 })));
    expect(together.map((e) => e.relevance)).toEqual(sequential);
    model.dispose();
  });

  type Internals = { killWorkerForTest(i: number): Promise<unknown>; pool: { lost: string | null } | null; parallel(k: string, args: number[], parts: number): void; kernels: { memory: WebAssembly.Memory }; control: number };
  const engineOf = async (model: Model) => (await (model as unknown as { wasm: Map<string, Promise<Internals>> }).wasm.values().next().value)!;
  /** Runs `f` with the worker asleep (past its polling) and every notify that would wake it dropped; returns how many were. */
  async function withWakeUpsDropped(f: () => unknown): Promise<number> {
    await new Promise((r) => setTimeout(r, 100));
    const notify = Atomics.notify;
    const spy = vi.spyOn(Atomics, 'notify').mockImplementation((a, i, n) => (i === CONTROL.generation ? 0 : notify(a as unknown as Int32Array, i, n)));
    try {
      await f();
      return spy.mock.calls.filter(([, i]) => i === CONTROL.generation).length;
    } finally {
      spy.mockRestore();
    }
  }

  it('a worker that dies costs no call: the main thread takes its parts, and the next call has new workers', async () => {
    const model = m();
    const x = input(3 * 64 * 64, 3);
    const before = (await model.explain(x, { threads: 2 })).relevance;
    const engine = await engineOf(model);
    const pool = engine.pool!;
    await engine.killWorkerForTest(1);
    await vi.waitFor(() => expect(pool.lost).toMatch(/worker thread 1 ended/));
    const began = Date.now();
    expect((await model.explain(x, { threads: 2 })).relevance).toEqual(before);
    expect(Date.now() - began).toBeLessThan(20_000);
    expect(engine.pool).not.toBe(pool);
    expect(engine.pool!.lost).toBeNull();
    expect((await model.explain(x, { threads: 2 })).relevance).toEqual(before);
    model.dispose();
  }, 30_000);

  it('a part that traps fails its call, on whichever thread ran it, and the next call works', async () => {
    const model = m();
    const x = input(3 * 64 * 64, 8);
    const before = (await model.explain(x, { threads: 2 })).relevance;
    const engine = await engineOf(model);
    const top = engine.kernels.memory.buffer.byteLength;
    // linear_forward shares out its 8 outputs: part 0 writes the last 16 bytes of memory, part 1 past them.
    const trap = () => engine.parallel('linear_forward', [0, 0, 0, top - 16, 1, 4, 8, 0, 0, -1, 0, 0, Infinity], 2);
    // With the worker asleep and not woken, this thread claims part 1 too and traps in it itself.
    expect(await withWakeUpsDropped(() => expect(trap).toThrow(/memory access out of bounds/))).toBe(1);
    // Woken, the worker may take part 1 first: its trap is a WORKER_FAILED (and the pool is replaced).
    expect(trap).toThrow(/memory access out of bounds|worker 1 failed running linear_forward/);
    expect((await model.explain(x, { threads: 2 })).relevance).toEqual(before);
    model.dispose();
  });

  it('a job does not wait for a worker that has not begun it: with every wake-up lost, the main thread does all the parts', async () => {
    const model = m();
    const x = input(3 * 64 * 64, 7);
    const expected = (await model.explain(x, { threads: 1 })).relevance;
    await model.explain(x, { threads: 2 });
    const began = Date.now();
    const dropped = await withWakeUpsDropped(async () => expect((await model.explain(x, { threads: 2 })).relevance).toEqual(expected));
    expect(Date.now() - began).toBeLessThan(10_000);
    expect(dropped).toBeGreaterThan(10);
    model.dispose();
  });

  it('workers woken without a new job (Atomics.wait may return so) do not run the last job again', async () => {
    const model = m();
    const x = input(3 * 64 * 64, 6);
    const expected = (await model.explain(x, { threads: 1 })).relevance;
    await model.explain(x, { threads: 2 });
    const engine = await engineOf(model);
    // Another thread wakes every waiter on the job counter, over and over, while explanations run.
    const { Worker } = await import('node:worker_threads');
    const stop = new Int32Array(new SharedArrayBuffer(4));
    const waker = new Worker(
      `const { workerData: w } = require('node:worker_threads');
       const c = new Int32Array(w.buffer, w.control, 1), stop = new Int32Array(w.stop);
       while (Atomics.load(stop, 0) === 0) Atomics.notify(c, ${CONTROL.generation});`,
      { eval: true, workerData: { buffer: engine.kernels.memory.buffer, control: engine.control, stop: stop.buffer } },
    );
    try {
      for (let i = 0; i < 3; i++) expect((await model.explain(x, { threads: 2 })).relevance).toEqual(expected);
    } finally {
      Atomics.store(stop, 0, 1);
      await waker.terminate();
      model.dispose();
    }
  });

  it('threads must be an integer from 1 to 16', async () => {
    const model = m();
    const x = input(3 * 64 * 64, 4);
    for (const threads of [0, 1.5, 17, -1]) await expect(model.forward(x, { threads })).rejects.toThrow(/threads must be an integer from 1 to 16/);
    expect(() => new Model(model.graph, {}, { threads: 0 })).toThrow(/threads must be an integer from 1 to 16/);
  });
});

describe('without shared memory', () => {
  const saved = globalThis.SharedArrayBuffer;
  afterEach(() => {
    globalThis.SharedArrayBuffer = saved;
  });
  it('runs on one thread, says so once, and gives the threaded result', async () => {
    const x = input(3 * 64 * 64, 5);
    const threaded = buildModel('resnet18', { inputSize: 64, width: 16, numClasses: 10 });
    const expected = (await threaded.explain(x, { threads: 2 })).relevance;
    threaded.dispose();
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    // A page without cross-origin isolation has no SharedArrayBuffer.
    (globalThis as { SharedArrayBuffer?: unknown }).SharedArrayBuffer = undefined;
    const lone = buildModel('resnet18', { inputSize: 64, width: 16, numClasses: 10 });
    expect((await lone.explain(x, { threads: 2 })).relevance).toEqual(expected);
    expect((await lone.explain(x, { threads: 3 })).relevance).toEqual(expected);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0][0]).toMatch(/relprop: running on one thread, not 2: this runtime has no SharedArrayBuffer/);
    warn.mockRestore();
    lone.dispose();
  });
});

describe('relprop explain --threads N', () => {
  it('writes the same relevance, byte for byte, on 1 and 3 threads; a bad count is a usage error', async () => {
    const { mkdtempSync, readFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { relprop } = await import('./helpers/cli.js');
    const npy = async (threads: string) => {
      const out = mkdtempSync(join(tmpdir(), 'relprop-threads-'));
      const r = await relprop('explain', 'examples/chelsea.png', '--arch', 'resnet18', '--input-size', '96', '--width', '32', '--threads', threads, '--out', out, '--npy', '--json');
      expect(r.code, r.stderr).toBe(0);
      return readFileSync(JSON.parse(r.stdout).images[0].files.npy);
    };
    expect((await npy('3')).equals(await npy('1'))).toBe(true);
    const bad = await relprop('explain', 'examples/chelsea.png', '--arch', 'resnet18', '--threads', '0');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/--threads must be a whole number from 1 to 16, got "0"/);
  });
});
