// One side thread of bench/side-threads.ts: its own model and engine, a one-thread forward each time
// the main thread says go.
import { parentPort, workerData } from 'node:worker_threads';
import { enableRelaxedSimd } from '../src/cli/relaxed-simd.js';
import { benchModel } from './models.js';

enableRelaxedSimd();
const model = await benchModel(workerData.arch);
const x = Float32Array.from(workerData.x as Float32Array);
await model.forward(x, { threads: 1 });
parentPort!.on('message', async () => {
  await model.forward(x, { threads: 1 });
  parentPort!.postMessage('done');
});
parentPort!.postMessage('ready');
