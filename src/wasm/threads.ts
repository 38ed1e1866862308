/**
 * Worker threads for the wasm kernels: persistent workers, each with an instance of the threaded build
 * over the engine's shared memory, and a fork-join over a control block in that memory. The main thread
 * writes a job (which kernel, its arguments, into how many parts), wakes the workers, runs part 0 itself
 * and then any part no worker has claimed yet, and waits until every part is done. Kernels split their
 * work by part as the plan says (src/wasm/conv-plan.ts), so every part writes outputs no other part
 * touches, and the result is the same, bit for bit, whatever the number of parts and whichever thread
 * runs which. Planning and allocation stay on the main thread.
 *
 * Parts are claimed, not assigned: on a shared machine a worker's core may be taken for milliseconds
 * at a time, and a job waiting for it made two threads 2x slower than one (ResNet-50's forward, 330-370
 * ms against 180-230, whenever a neighbour held one of the two cores). A worker that is late, asleep or
 * gone leaves its part to the main thread.
 *
 * Waiting: Node, Deno and Bun let the main thread block in Atomics.wait; a browser page's main thread
 * may not, and spins on the count instead (run the engine in a Web Worker there). A worker that throws
 * (a wasm trap) reports it in the control block and the call fails; one that ends (killed, out of
 * memory) is noticed by its exit event, and the engine replaces the pool before its next call.
 */
import { fail, RelpropError } from '../errors.js';
import { MAX_THREADS } from './constants.generated.js';
import { claim, CONTROL, CONTROL_ARGS, CONTROL_MAX_ARGS, SPIN_MS, ticket } from './thread-control.js';
import { WORKER_SOURCE } from './worker.generated.js';

/** The kernels a job may run: each takes its arguments, then (part, parts) and the job's chunk queue (ignored by those that do not claim chunks). */
export const THREADED_KERNELS = ['conv_gemm_forward', 'conv_gemm_transpose', 'conv_winograd', 'depthwise_forward', 'depthwise_transpose', 'linear_forward', 'linear_transpose', 'winograd_weights_transformed', 'binary', 'relu', 'split_sum', 'maxpool_forward', 'activation'] as const;
export type ThreadedKernel = (typeof THREADED_KERNELS)[number];

/** How long one kernel call may take in all before the workers count as stuck. */
const CALL_TIMEOUT_MS = 600_000;

interface AnyWorker {
  postMessage(m: unknown): void;
  terminate(): unknown;
}

/** Node or Bun (not Deno, which also sets process.versions.node): node:worker_threads is there. */
export const isNodeLike = () => typeof process !== 'undefined' && !!process.versions?.node && typeof (globalThis as { Deno?: unknown }).Deno === 'undefined';

/** Why threads cannot run here, or null: shared memory needs SharedArrayBuffer (in a page, cross-origin isolation) and workers. */
export function threadsUnavailable(): string | null {
  if (typeof SharedArrayBuffer === 'undefined' || typeof Atomics === 'undefined') {
    return typeof (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === 'boolean' ? 'this page is not cross-origin isolated (serve it with COOP/COEP headers), so it has no shared memory' : 'this runtime has no SharedArrayBuffer';
  }
  if (!isNodeLike() && typeof Worker === 'undefined') return 'this runtime has no Worker';
  return null;
}

/** The default number of threads: the machine's cores, at most 8. */
export async function defaultThreads(): Promise<number> {
  let cores = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency;
  if (!cores && isNodeLike()) {
    const os = await import('node:os');
    cores = os.availableParallelism?.() ?? os.cpus().length;
  }
  return Math.max(1, Math.min(8, cores || 1));
}

export function checkThreads(n: unknown, where: string): number {
  if (!Number.isInteger(n) || (n as number) < 1 || (n as number) > MAX_THREADS) fail('BAD_OPTION', `${where}: threads must be an integer from 1 to ${MAX_THREADS}, got ${String(n)}`);
  return n as number;
}

export class WorkerPool {
  private readonly c: Int32Array;
  private readonly args: Float64Array;
  private broken: string | null = null;
  private readonly canBlock: boolean;
  private readonly queue: number;

  private constructor(
    memory: WebAssembly.Memory,
    private readonly workers: AnyWorker[],
    private readonly health: Health,
    control: number,
  ) {
    this.c = new Int32Array(memory.buffer, control, CONTROL_ARGS / 4);
    this.args = new Float64Array(memory.buffer, control + CONTROL_ARGS, CONTROL_MAX_ARGS);
    this.canBlock = mayBlock(this.c);
    this.queue = control + CONTROL.queue * 4;
  }

  /** Threads in all, the main one included. */
  get threads(): number {
    return this.workers.length + 1;
  }

  /** Why a worker has ended on its own, or null: such a pool still computes right, on fewer threads. */
  get lost(): string | null {
    return this.health.lost;
  }

  /** Starts `threads - 1` workers on the module over `memory`; the control block is at byte `control`. */
  static async create(module: WebAssembly.Module, memory: WebAssembly.Memory, control: number, threads: number): Promise<WorkerPool> {
    const workers: AnyWorker[] = [];
    const health: Health = { errors: [], lost: null };
    try {
      const starting: Promise<void>[] = [];
      const epoch = Atomics.load(new Int32Array(memory.buffer, control, CONTROL_ARGS / 4), CONTROL.epoch);
      for (let index = 1; index < threads; index++) {
        const { worker, started } = await spawn(index, health);
        workers.push(worker);
        worker.postMessage({ module, memory, control, index, kernels: THREADED_KERNELS, epoch });
        starting.push(started);
      }
      await Promise.all(starting);
    } catch (e) {
      for (const w of workers) w.terminate();
      throw e instanceof RelpropError ? e : new RelpropError('WORKER_FAILED', `could not start worker threads: ${(e as Error).message}`);
    }
    return new WorkerPool(memory, workers, health, control);
  }

  /** Runs `kernel(...args, part, parts, queue)` for every part; returns when all are done. */
  run(kernel: ThreadedKernel, args: readonly number[], parts: number, own: (...a: number[]) => void): void {
    if (this.broken) fail('WORKER_FAILED', this.broken);
    if (parts > this.threads) fail('BAD_OPTION', `${parts} parts on ${this.threads} threads`);
    if (args.length > CONTROL_MAX_ARGS) fail('BAD_OPTION', `${kernel}: ${args.length} arguments, more than a job holds`);
    const { c } = this;
    this.args.set(args);
    c[CONTROL.kernel] = THREADED_KERNELS.indexOf(kernel);
    c[CONTROL.argc] = args.length;
    Atomics.store(c, CONTROL.completed, 0);
    Atomics.store(c, CONTROL.failed, 0);
    Atomics.store(c, CONTROL.queue, 0);
    // The ticket goes out after everything a part reads; part 0 is this thread's.
    const generation = (Atomics.load(c, CONTROL.generation) + 1) | 0;
    Atomics.store(c, CONTROL.ticket, ticket(generation, parts, 1));
    Atomics.store(c, CONTROL.generation, generation);
    Atomics.notify(c, CONTROL.generation);
    // This thread's parts count as done when claimed: the join waits for the workers' parts only, and a
    // part of this thread's that throws must not leave the count short.
    let done = 0;
    try {
      for (let part = 0; part >= 0; part = claim(c)) {
        done++;
        own(...args, part, parts, this.queue);
      }
    } finally {
      // After a throw, the parts left are taken and not run, so that no worker starts them now.
      while (claim(c) >= 0) done++;
      Atomics.add(c, CONTROL.completed, done);
      this.join(kernel, parts);
    }
    const failed = Atomics.load(c, CONTROL.failed);
    if (failed) fail('WORKER_FAILED', `worker ${failed} failed running ${kernel}${this.health.errors.length ? `: ${this.health.errors.at(-1)}` : ''}`);
  }

  /** Waits until the workers have finished the parts they claimed. */
  private join(kernel: ThreadedKernel, parts: number): void {
    const { c } = this;
    const begun = Date.now();
    const spinUntil = performance.now() + SPIN_MS;
    for (;;) {
      const completed = Atomics.load(c, CONTROL.completed);
      if (completed >= parts) return;
      if (this.canBlock && performance.now() > spinUntil) Atomics.wait(c, CONTROL.completed, completed, 50);
      if (Date.now() - begun > CALL_TIMEOUT_MS) {
        this.broken = `worker threads stopped answering during ${kernel} (killed or out of memory?); this engine's threads are stopped, and the model makes new ones on its next call`;
        this.dispose();
        fail('WORKER_FAILED', this.broken);
      }
    }
  }

  /** Ends the workers (the control block's next pool starts from the next epoch). */
  dispose(): void {
    if (this.workers.length === 0) return;
    Atomics.add(this.c, CONTROL.epoch, 1);
    Atomics.add(this.c, CONTROL.generation, 1);
    Atomics.notify(this.c, CONTROL.generation);
    for (const w of this.workers) w.terminate();
    this.workers.length = 0;
  }

  /** For tests: stops worker `index` without telling the pool, as a crash would; resolves when it has. */
  killForTest(index: number): Promise<unknown> {
    return Promise.resolve(this.workers[index - 1]?.terminate());
  }
}

/** Whether this thread may block in Atomics.wait (a browser page's main thread may not). */
function mayBlock(c: Int32Array): boolean {
  try {
    Atomics.wait(c, CONTROL.epoch, -1, 0);
    return true;
  } catch {
    return false;
  }
}

/** What a pool's workers report outside a job: errors thrown in a part, and a worker that ended. */
interface Health {
  errors: string[];
  lost: string | null;
}

async function spawn(index: number, health: Health): Promise<{ worker: AnyWorker; started: Promise<void> }> {
  if (isNodeLike()) {
    const { Worker } = await import('node:worker_threads');
    // No inherited flags: the parent's --import or --input-type have nothing to do with this code.
    const worker = new Worker(WORKER_SOURCE, { eval: true, execArgv: [] });
    worker.once('exit', (code) => (health.lost ??= `worker thread ${index} ended (exit code ${code})`));
    const started = new Promise<void>((resolve, reject) => {
      worker.on('message', (m: { ready?: boolean; failed?: string; error?: string }) => {
        if (m.ready) {
          // Started, the pool's workers must not keep a process alive that is otherwise done (a
          // listener refs a worker again, so this comes after them; before it, the start is awaited).
          worker.unref();
          resolve();
        }
        else if (m.failed) reject(new RelpropError('WORKER_FAILED', `a worker could not instantiate the kernels: ${m.failed}`));
        else if (m.error) health.errors.push(m.error);
      });
      worker.once('error', (e) => {
        health.lost ??= `worker thread ${index} failed: ${e.message}`;
        reject(new RelpropError('WORKER_FAILED', `a worker failed to start: ${e.message}`));
      });
    });
    return { worker, started };
  }
  const url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: 'text/javascript' }));
  const worker = new Worker(url, { type: 'module' });
  const started = new Promise<void>((resolve, reject) => {
    worker.onmessage = (e: MessageEvent<{ ready?: boolean; failed?: string; error?: string }>) => {
      if (e.data.ready) {
        URL.revokeObjectURL(url);
        resolve();
      } else if (e.data.failed) reject(new RelpropError('WORKER_FAILED', `a worker could not instantiate the kernels: ${e.data.failed}`));
      else if (e.data.error) health.errors.push(e.data.error);
    };
    worker.onerror = (e) => {
      health.lost ??= `worker thread ${index} failed: ${e.message}`;
      reject(new RelpropError('WORKER_FAILED', `a worker failed to start: ${e.message}`));
    };
  });
  return { worker, started };
}
