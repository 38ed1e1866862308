// The peer a split of one forward is measured against: N one-thread forwards at once, one on each of N
// threads (the caller's and N - 1 workers, each with its own model and engine). No split, no fork-join,
// nothing shared: what it loses against N x is the machine's (memory, caches, neighbours), so it is
// the most an N-thread speed-up could reach here at that moment. bench/threads.ts takes turns with it.
import { Worker } from 'node:worker_threads';
import type { Model } from '../src/index.js';

const SIDE_THREAD = new URL('./side-thread.ts', import.meta.url).href;

/** Starts n - 1 workers with `arch` loaded; together(), with the caller's own model, runs n forwards at once. */
export async function sideThreads(arch: string, n: number, model: Model, x: Float32Array) {
  const workerData = { arch, x };
  const workers = await Promise.all(
    Array.from({ length: n - 1 }, async () => {
      // side-thread.ts is TypeScript: the worker registers tsx, as the parent runs under it, then loads it.
      const w = new Worker(`import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(SIDE_THREAD)}); })`, { eval: true, workerData });
      await new Promise((resolve, reject) => {
        w.once('message', resolve);
        w.once('error', reject);
      });
      return w;
    }),
  );
  const forward = (w: Worker) =>
    new Promise((resolve) => {
      w.once('message', resolve);
      w.postMessage('go');
    });
  return {
    together: () => Promise.all([model.forward(x, { threads: 1 }), ...workers.map(forward)]),
    end: () => Promise.all(workers.map((w) => w.terminate())),
  };
}
