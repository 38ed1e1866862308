/**
 * The control block the main thread and the worker threads share (src/wasm/threads.ts writes jobs,
 * src/wasm/worker.ts runs them), and the claim both make on a job's parts: one definition, bundled into
 * the worker at build time.
 */
import { PART_BITS } from './constants.generated.js';

/**
 * Int32 slots of the control block, then the job's arguments as float64 from byte CONTROL_ARGS.
 * `generation` counts jobs (workers wait on it); `ticket` says which of the job's parts is next (see
 * ticket()); `completed` counts parts done. `epoch` names the pool the workers belong to: a pool that is
 * replaced or disposed moves it on, and its workers, seeing another epoch when they wake, end. `queue`
 * is the job's chunk counter (assembly/thread.ts), which kernels that claim chunks are given.
 */
export const CONTROL = { generation: 0, kernel: 1, argc: 2, ticket: 3, completed: 4, failed: 5, epoch: 6, queue: 16 } as const;
export const CONTROL_ARGS = 128;
export const CONTROL_MAX_ARGS = 16;
export const CONTROL_BYTES = CONTROL_ARGS + CONTROL_MAX_ARGS * 8;

const PART_MASK = (1 << PART_BITS) - 1;

/**
 * A job's ticket: its generation, how many parts it has, and the next part to be claimed, in one word,
 * so that a claim (compare-and-swap from `next` to `next + 1`) can only take a part of the job whose
 * arguments were written before the ticket, never a part of a job that has since ended.
 */
export function ticket(generation: number, parts: number, next: number): number {
  return ((generation << (2 * PART_BITS)) | (parts << PART_BITS) | next) | 0;
}

/** How many parts the job whose ticket this is has. */
export function partsOf(ticketWord: number): number {
  return (ticketWord >>> PART_BITS) & PART_MASK;
}

/**
 * Claims the next part of the current job: its index, or -1 when every part is taken. The main thread
 * and the workers all claim, so a part whose worker is late (descheduled, asleep, gone) is done by
 * whichever thread is free, and no job waits for a thread that has not begun it.
 */
export function claim(c: Int32Array): number {
  for (;;) {
    const w = Atomics.load(c, CONTROL.ticket);
    const next = w & PART_MASK;
    if (next >= partsOf(w)) return -1;
    if (Atomics.compareExchange(c, CONTROL.ticket, w, w + 1) === w) return next;
  }
}

/**
 * How long a thread polls before it blocks, waiting for a job (a worker) or for the workers to finish
 * (the main thread). A pass's jobs come a fraction of a millisecond apart, while waking a blocked thread
 * took 0.3-0.7 ms a job here (ResNet-50's forward on 2 threads, 2 shared cores: 15-36 ms of 200 spent
 * waiting); polling keeps a thread awake through the pass and lets it sleep once the pass is over.
 */
export const SPIN_MS = 2;
