/**
 * What each worker thread runs. Bundled at build time (scripts/embed-worker.mjs) into one script,
 * embedded as text in src/wasm/worker.generated.ts, so a worker is made the same way in every runtime
 * and bundle (Node's and Bun's worker_threads from the text, Deno's and browsers' Web Workers from a
 * Blob URL), with no worker file to find. It instantiates the threaded kernels over the shared memory
 * it is sent, then loops: wait for the next job's generation, claim its parts until none is left,
 * count each one done.
 */
import { claim, CONTROL as C, CONTROL_ARGS, CONTROL_MAX_ARGS, partsOf, SPIN_MS } from './thread-control.js';

interface Start {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  control: number;
  index: number;
  kernels: readonly string[];
  epoch: number;
}
interface Port {
  postMessage(m: unknown): void;
  once(event: 'message', f: (m: Start) => void): void;
}
type Kernel = (...args: number[]) => void;

declare const require: (id: string) => { parentPort: Port | null };
declare const self: { postMessage(m: unknown): void; onmessage: ((e: { data: Start }) => void) | null };
declare const process: { getBuiltinModule?: (id: string) => { parentPort: Port | null } } | undefined;

/**
 * Node's and Bun's worker_threads port, or null in a Web Worker. The text runs as a script (require
 * is there) or, under --input-type=module, as a module without require (getBuiltinModule is); the
 * bundler's stand-in for require throws where there is none.
 */
function nodePortOf(): Port | null {
  try {
    return require('node:worker_threads').parentPort;
  } catch {
    return typeof process === 'undefined' ? null : (process.getBuiltinModule?.('node:worker_threads')?.parentPort ?? null);
  }
}

const nodePort = nodePortOf();
const post = (m: unknown) => (nodePort ? nodePort.postMessage(m) : self.postMessage(m));

function start({ module, memory, control, index, kernels, epoch }: Start): void {
  let k: Record<string, unknown>;
  try {
    const instance = new WebAssembly.Instance(module, {
      env: {
        memory,
        abort() {
          throw new Error('wasm kernel aborted');
        },
      },
    });
    k = instance.exports;
    (k.set_thread as Kernel)(index);
  } catch (e) {
    post({ failed: String((e as Error)?.message ?? e) });
    return;
  }
  const c = new Int32Array(memory.buffer, control, CONTROL_ARGS / 4);
  const args = new Float64Array(memory.buffer, control + CONTROL_ARGS, CONTROL_MAX_ARGS);
  // The generation is read before saying ready: the first job can only come after that.
  let generation = Atomics.load(c, C.generation);
  post({ ready: true });
  for (;;) {
    // Atomics.wait may return without a new job (a notify that came late): then there is no part to
    // claim, and nothing runs twice.
    let next: number;
    const until = performance.now() + SPIN_MS;
    while ((next = Atomics.load(c, C.generation)) === generation && performance.now() < until);
    while ((next = Atomics.load(c, C.generation)) === generation) Atomics.wait(c, C.generation, generation);
    generation = next;
    if (Atomics.load(c, C.epoch) !== epoch) return;
    for (let part; (part = claim(c)) >= 0; ) {
      // Read after the claim: the ticket was written after them, and they stay until every part is done.
      const parts = partsOf(Atomics.load(c, C.ticket));
      try {
        (k[kernels[c[C.kernel]]] as Kernel)(...args.subarray(0, c[C.argc]), part, parts, control + C.queue * 4);
      } catch (e) {
        Atomics.store(c, C.failed, index);
        post({ error: String((e as Error)?.message ?? e) });
      }
      Atomics.add(c, C.completed, 1);
      Atomics.notify(c, C.completed);
    }
  }
}

if (nodePort) nodePort.once('message', start);
else
  self.onmessage = (e) => {
    self.onmessage = null;
    start(e.data);
  };
