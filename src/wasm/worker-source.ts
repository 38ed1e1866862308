/**
 * The code each worker thread runs, as source text: a worker is then made the same way in every
 * runtime and bundle (Node's and Bun's worker_threads from the text, Deno's and browsers' Web Workers
 * from a Blob URL), with no worker file to find. It instantiates the threaded kernels over the shared
 * memory it is sent, then loops: wait for the next job's generation, run its share, count itself done.
 * The control block's layout is CONTROL's, below; src/wasm/threads.ts writes the jobs.
 */

/** Int32 slots of the control block, then the job's arguments as float64 from byte ARGS. */
/**
 * `epoch` names the pool the workers belong to: a pool that is replaced or disposed moves it on, and its
 * workers, seeing another epoch when they wake, end.
 */
export const CONTROL = { generation: 0, kernel: 1, argc: 2, parts: 3, done: 4, failed: 5, epoch: 6, started: 8 } as const;
export const CONTROL_ARGS = 128;
export const CONTROL_MAX_ARGS = 16;
export const CONTROL_BYTES = CONTROL_ARGS + CONTROL_MAX_ARGS * 8;
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
  for (;;) {
    // Atomics.wait may return without a new job (a notify that came late, after this worker had already
    // seen its job and done it): only a generation that moved is a job, else the last one ran twice.
    let next;
    const until = performance.now() + ${SPIN_MS};
    while ((next = Atomics.load(c, C.generation)) === generation && performance.now() < until);
    while ((next = Atomics.load(c, C.generation)) === generation) Atomics.wait(c, C.generation, generation);
    generation = next;
    if (Atomics.load(c, C.epoch) !== epoch) return;
    Atomics.store(c, C.started + index, generation);
    const parts = Atomics.load(c, C.parts);
    if (index < parts) {
      try {
        k[kernels[c[C.kernel]]](...args.subarray(0, c[C.argc]), index, parts);
      } catch (e) {
        Atomics.store(c, C.failed, index);
        post({ error: String(e && e.message || e) });
      }
    }
    Atomics.add(c, C.done, 1);
    Atomics.notify(c, C.done);
  }
};
if (nodePort) nodePort.once('message', start);
else self.onmessage = (e) => { self.onmessage = null; start(e.data); };
`;
