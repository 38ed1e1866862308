/**
 * Renders the CLI's panels on a worker thread, so that a folder run draws and encodes one photo's panel
 * while the main thread explains the next (each of the two took about a core: on 1 thread the folder
 * then runs at the explanations' rate). The worker starts with the command, so loading the image
 * library and its font overlaps loading the model.
 */
import { Worker } from 'node:worker_threads';
import { RelpropError, type ErrorCode } from '../errors.js';
import type { InputWindow } from '../image/preprocess.js';
import type { RgbImage } from '../image/rgb.js';
import type { PanelOptions, RenderedPanel } from '../render/panel.js';

export interface PanelJob {
  id: number;
  photo: RgbImage;
  map: Float32Array;
  height: number;
  width: number;
  window: InputWindow;
  options: PanelOptions;
}

type Reply = { id: number; png: Uint8Array; width: number; height: number } | { id: number; error: { code?: ErrorCode; message: string } };

/**
 * The renderer: on a worker thread as built; run from source through tsx (whose loader a worker does not
 * get), on this thread.
 */
export function panelRenderer(): { render(job: Omit<PanelJob, 'id'>): Promise<RenderedPanel>; close(): Promise<void> } {
  if (!import.meta.url.endsWith('.ts')) return new PanelRenderer();
  return {
    render: async (j) => (await import('../render/panel.js')).renderPanel(j.photo, j.map, j.height, j.width, j.window, j.options),
    close: async () => {},
  };
}

export class PanelRenderer {
  private readonly worker = new Worker(new URL('./panel-worker.js', import.meta.url));
  private readonly waiting = new Map<number, { resolve: (p: RenderedPanel) => void; reject: (e: Error) => void }>();
  private next = 0;

  constructor() {
    this.worker.on('message', (r: Reply) => {
      const w = this.waiting.get(r.id)!;
      this.waiting.delete(r.id);
      if ('error' in r) w.reject(r.error.code ? new RelpropError(r.error.code, r.error.message) : new Error(r.error.message));
      else w.resolve({ png: r.png, width: r.width, height: r.height });
    });
    this.worker.on('error', (e) => this.failAll(e));
    this.worker.on('exit', (code) => this.failAll(new Error(`the panel renderer stopped (exit code ${code})`)));
    // An idle renderer does not keep the command alive.
    this.worker.unref();
  }

  render(job: Omit<PanelJob, 'id'>): Promise<RenderedPanel> {
    const id = this.next++;
    this.worker.ref();
    return new Promise<RenderedPanel>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage({ ...job, id });
    }).finally(() => {
      if (this.waiting.size === 0) this.worker.unref();
    });
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }

  private failAll(e: Error): void {
    for (const w of this.waiting.values()) w.reject(e);
    this.waiting.clear();
  }
}
