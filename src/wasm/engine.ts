import { fail, RelpropError } from '../errors.js';
import type { Engine } from '../propagation/types.js';
import type { Graph } from '../graph/graph.js';
import type { Buf } from '../ops/op.js';
import { Arena, DEFAULT_MEMORY_LIMIT } from './arena.js';
import { compiledKernels, defaultKernelBuild, instantiateKernels, type KernelBuild, type KernelExports } from './load.js';
import { WasmSession } from './session.js';
import { IncrementalForward } from './incremental-forward.js';
import { threadsUnavailable, WorkerPool, type ThreadedKernel } from './threads.js';
import type { Uploaded } from './convolution-run.js';
import { uploadWeights } from './weights.js';
import { CONTROL_BYTES } from './thread-control.js';

export type { Buf };
export { WasmSession };

/** Ends the worker threads of engines that were collected without being disposed. */
const poolsOfCollectedEngines = new FinalizationRegistry<WorkerPool>((pool) => pool.dispose());

/**
 * The wasm SIMD engine. Weights are uploaded once per graph into the bottom of the arena; each run lays
 * out its activations above them, then the relevance slots the backward pass needs (planned from the
 * graph, reused as values die), then a scratch stack that every node's rule allocates from and that is
 * released after the node.
 */
export class WasmEngine implements Engine {
  readonly name = 'wasm';
  private readonly uploaded = new WeakMap<Graph, Map<string, Uploaded>>();
  private weightsTop: number;
  private busy = false;
  /** The worker threads, made by useThreads and kept; null: one thread. */
  private pool: WorkerPool | null = null;
  /** A pool being started: calls that come meanwhile wait for it instead of starting another. */
  private starting: Promise<void> | null = null;

  private constructor(
    readonly kernels: KernelExports,
    readonly arena: Arena,
    /** Which build of the kernels runs: 'relaxed-simd' where the runtime has it, else 'simd'. */
    readonly build: KernelBuild,
    /** Where the threaded build's control block is (shared memory), or null: the single-threaded build. */
    private readonly control: number | null,
  ) {
    this.weightsTop = arena.mark();
  }

  /**
   * An engine over shared memory (the threaded build) where the runtime has it, so that any number of
   * threads can join later; else the single-threaded build, and `why` says why not.
   */
  static async create(memoryLimit = DEFAULT_MEMORY_LIMIT, build: KernelBuild = defaultKernelBuild()): Promise<WasmEngine> {
    if (threadsUnavailable() !== null) {
      const kernels = await instantiateKernels(build);
      return new WasmEngine(kernels, new Arena(kernels, memoryLimit), build, null);
    }
    // Shared memory cannot grow past its maximum, and a later call may raise the limit: wasm32's 4 GiB.
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 65536, shared: true });
    const kernels = await instantiateKernels(build, memory);
    const arena = new Arena(kernels, memoryLimit);
    const control = arena.alloc(CONTROL_BYTES, 'the threads\' control block');
    return new WasmEngine(kernels, arena, build, control);
  }

  /**
   * Makes `threads` threads available to the next runs (workers are started once and kept), or says
   * why it cannot: then the runs use one thread.
   */
  async useThreads(threads: number): Promise<string | null> {
    if (threads <= 1) return null;
    if (this.control === null) return threadsUnavailable() ?? 'this engine was made without shared memory';
    while (this.starting) await this.starting;
    // A pool that lost a worker still computes right (the main thread takes the worker's parts); it is
    // replaced here, between calls, so that the next run has all its threads again.
    if (!this.pool || this.pool.threads < threads || this.pool.lost) {
      const control = this.control;
      this.starting = (async () => {
        // One pool at a time uses the control block: the old one ends before the new one starts.
        this.dropPool();
        const pool = await WorkerPool.create(await compiledKernels(this.build, true), this.kernels.memory, control, threads);
        // Workers hold no reference to the engine; an engine collected without dispose() ends them.
        poolsOfCollectedEngines.register(this, pool, pool);
        this.pool = pool;
      })();
      try {
        await this.starting;
      } finally {
        this.starting = null;
      }
    }
    return null;
  }

  /** How many of `wanted` threads a run gets: those useThreads started. */
  threadsFor(wanted: number): number {
    return Math.max(1, Math.min(wanted, this.pool?.threads ?? 1));
  }

  /** Runs a kernel in `parts` shares on the engine's threads, part 0 on this thread. */
  parallel(kernel: ThreadedKernel, args: number[], parts: number): void {
    const fn = this.kernels[kernel] as unknown as (...a: number[]) => void;
    if (parts <= 1 || !this.pool) {
      fn(...args, 0, 1, 0);
      return;
    }
    try {
      this.pool.run(kernel, args, parts, fn);
    } catch (e) {
      // A pool whose worker failed is not used again: the next call starts a new one.
      if (e instanceof RelpropError && e.code === 'WORKER_FAILED') this.dropPool();
      throw e;
    }
  }

  private dropPool(): void {
    if (!this.pool) return;
    poolsOfCollectedEngines.unregister(this.pool);
    this.pool.dispose();
    this.pool = null;
  }

  dispose(): void {
    this.dropPool();
  }

  /** For tests: stops one worker as a crash would. */
  killWorkerForTest(index: number): Promise<unknown> {
    return this.pool?.killForTest(index) ?? Promise.resolve();
  }

  run(graph: Graph, input: Float32Array, batch: number, threads = 1, keepZ: ReadonlySet<string> = new Set()): WasmSession {
    return this.begin(graph, (run, release) => new WasmSession({ ...run, batch, threads: this.threadsFor(threads) }, input, keepZ, release));
  }

  /**
   * A forward of one image on one thread, kept to follow a series of inputs each a small change of the
   * one before (incremental-forward.ts); released as a session is.
   */
  incremental(graph: Graph, input: Float32Array): IncrementalForward {
    return this.begin(graph, (run, release) => new IncrementalForward({ ...run, batch: 1, threads: 1 }, input, release));
  }

  /** Starts a run of the graph: the engine busy until `release`, the arena above the graph's weights. */
  private begin<T>(graph: Graph, start: (run: { graph: Graph; k: KernelExports; arena: Arena; weights: Map<string, Uploaded>; parallel: WasmEngine['parallel'] }, release: () => void) => T): T {
    if (this.busy) fail('BAD_OPTION', 'the wasm engine runs one explanation at a time; this one started while another was unreleased');
    this.arena.reset(this.weightsTop);
    const weights = this.upload(graph);
    this.weightsTop = this.arena.mark();
    this.busy = true;
    try {
      return start({ graph, k: this.kernels, arena: this.arena, weights, parallel: this.parallel.bind(this) }, () => {
        this.busy = false;
        this.arena.reset(this.weightsTop);
      });
    } catch (e) {
      this.busy = false;
      this.arena.reset(this.weightsTop);
      throw e;
    }
  }

  private upload(graph: Graph): Map<string, Uploaded> {
    let map = this.uploaded.get(graph);
    if (!map) this.uploaded.set(graph, (map = uploadWeights(this.arena, this.kernels, graph)));
    return map;
  }
}
