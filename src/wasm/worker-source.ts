/**
 * The code each worker thread runs, as source text: a worker is then made the same way in every
 * runtime and bundle (Node's and Bun's worker_threads from the text, Deno's and browsers' Web Workers
 * from a Blob URL), with no worker file to find. It instantiates the threaded kernels over the shared
 * memory it is sent, then loops: wait for the next job's generation, claim its parts until none is
 * left, count each one done.
 * The control block's layout is CONTROL's, below; src/wasm/threads.ts writes the jobs.
 */

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

/** Bits of the ticket's two counts (parts, next part): enough for MAX_THREADS parts. */
const PART_BITS = 5;
const PART_MASK = (1 << PART_BITS) - 1;

/**
 * A job's ticket: its generation, how many parts it has, and the next part to be claimed, in one word,
 * so that a claim (compare-and-swap from `next` to `next + 1`) can only take a part of the job whose
 * arguments were written before the ticket, never a part of a job that has since ended.
 */
export function ticket(generation: number, parts: number, next: number): number {
  return ((generation << (2 * PART_BITS)) | (parts << PART_BITS) | next) | 0;
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
    if (next >= ((w >>> PART_BITS) & PART_MASK)) return -1;
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

export const WORKER_SOURCE = `
const C = ${JSON.stringify(CONTROL)};
// Node's and Bun's worker_threads (the code may run as a script or, under --input-type=module, as a
// module without require), else a Web Worker.
const threads = typeof require === 'function' ? require('node:worker_threads') : globalThis.process?.getBuiltinModule?.('node:worker_threads');
const nodePort = threads?.parentPort ?? null;
const post = (m) => (nodePort ? nodePort.postMessage(m) : self.postMessage(m));
const start = ({ module, memory, control, index, kernels, epoch }) => {
  let k;
  try {
    const instance = new WebAssembly.Instance(module, { env: { memory, abort() { throw new Error('wasm kernel aborted'); } } });
    k = instance.exports;
    k.set_thread(index);
  } catch (e) {
    post({ failed: String(e && e.message || e) });
    return;
  }
  const c = new Int32Array(memory.buffer, control, ${CONTROL_ARGS / 4});
  const args = new Float64Array(memory.buffer, control + ${CONTROL_ARGS}, ${CONTROL_MAX_ARGS});
  // The generation is read before saying ready: the first job can only come after that.
  let generation = Atomics.load(c, C.generation);
  post({ ready: true });
  // claim() above, as text (a bundler renames the names of the function's own source).
  const claim = () => {
    for (;;) {
      const w = Atomics.load(c, C.ticket);
      const next = w & ${PART_MASK};
      if (next >= ((w >>> ${PART_BITS}) & ${PART_MASK})) return -1;
      if (Atomics.compareExchange(c, C.ticket, w, w + 1) === w) return next;
    }
  };
  for (;;) {
    // Atomics.wait may return without a new job (a notify that came late): then there is no part to
    // claim, and nothing runs twice.
    let next;
    const until = performance.now() + ${SPIN_MS};
    while ((next = Atomics.load(c, C.generation)) === generation && performance.now() < until);
    while ((next = Atomics.load(c, C.generation)) === generation) Atomics.wait(c, C.generation, generation);
    generation = next;
    if (Atomics.load(c, C.epoch) !== epoch) return;
    for (let part; (part = claim()) >= 0; ) {
      // Read after the claim: the ticket was written after them, and they stay until every part is done.
      const parts = (Atomics.load(c, C.ticket) >>> ${PART_BITS}) & ${PART_MASK};
      try {
        k[kernels[c[C.kernel]]](...args.subarray(0, c[C.argc]), part, parts, control + C.queue * 4);
      } catch (e) {
        Atomics.store(c, C.failed, index);
        post({ error: String(e && e.message || e) });
      }
      Atomics.add(c, C.completed, 1);
      Atomics.notify(c, C.completed);
    }
  }
};
if (nodePort) nodePort.once('message', start);
else self.onmessage = (e) => { self.onmessage = null; start(e.data); };
`;
