// The CLI's panel renderer, on a worker thread (panel-renderer.ts): drawing and PNG-encoding one photo's
// panel while the main thread explains the next.
import { parentPort } from 'node:worker_threads';
import { RelpropError } from '../errors.js';
import { renderPanel } from '../render/panel.js';
import type { PanelJob } from './panel-renderer.js';

parentPort!.on('message', async (job: PanelJob) => {
  try {
    const p = await renderPanel(job.photo, job.map, job.height, job.width, job.window, job.options);
    parentPort!.postMessage({ id: job.id, png: p.png, width: p.width, height: p.height }, [p.png.buffer as ArrayBuffer]);
  } catch (e) {
    parentPort!.postMessage({ id: job.id, error: { code: e instanceof RelpropError ? e.code : undefined, message: (e as Error).message } });
  }
});
