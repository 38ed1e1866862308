/**
 * Replicas of a model on worker threads, for image-parallel passes (src/model/spread-passes.ts): each
 * holds the graph (its weights copied, as the kernels' threads share one engine's memory but a replica
 * has its own) on an engine that runs one thread, and runs the passes it is sent. Node and Bun only
 * (node:worker_threads); elsewhere a method's copies run on one engine with its layers split over the
 * threads. They start on the first call that spreads, are kept with the model, and do not keep a process
 * alive; one that fails or ends fails its jobs with WORKER_FAILED, and the next call starts new ones.
 */
import type { Worker } from 'node:worker_threads';
import type { CompositeSpec } from '../composites.js';
import { RelpropError, type ErrorCode } from '../errors.js';
import type { Graph, GraphInput } from '../graph/graph.js';
import type { GraphNode } from '../graph/nodes.js';
import type { InputChange } from '../graph/input-change.js';
import type { BoundSpec } from '../rules/types.js';
import type { KernelBuild } from '../wasm/load.js';
import { isNodeLike } from '../wasm/threads.js';
import type { Targets } from '../attribution/types.js';
import type { PassRunner } from './spread-passes.js';

export interface ReplicaSetup {
  graph: { input: GraphInput; nodes: readonly GraphNode[]; output: string };
  inputRange?: { low: BoundSpec; high: BoundSpec };
  memoryLimit?: number;
  /** The kernels the parent runs: relaxed SIMD's fused multiply-adds round differently. */
  build: KernelBuild;
}

export interface ReplicaJob {
  id: number;
  pass: 'forward' | 'forwardSeries' | 'gradient' | 'lrp' | 'layerGradient';
  x: ArrayBuffer;
  /** forwardSeries': the changes after x, its first image. */
  changes?: readonly InputChange[];
  n: number;
  targets: Targets;
  /** lrp's. */
  composite?: CompositeSpec;
  /** layerGradient's. */
  layer?: string;
}

type Failure = { code?: ErrorCode; message: string };
type Reply = { id: number; result: Record<string, Float32Array | number[]> } | { id: number; error: Failure };

/** Whether replicas can run here: where node:worker_threads is (Node, Bun), as for the kernels' workers. */
export const replicasAvailable = isNodeLike;

const failure = (f: Failure, fallback: ErrorCode) => new RelpropError(f.code ?? fallback, f.message);

export class Replica implements PassRunner {
  private readonly waiting = new Map<number, { resolve: (r: Record<string, Float32Array | number[]>) => void; reject: (e: Error) => void }>();
  private next = 0;
  private lostWhy: string | null = null;

  private constructor(private readonly worker: Worker) {
    worker.on('message', (r: Reply) => {
      const w = this.waiting.get(r.id);
      if (!w) return;
      this.waiting.delete(r.id);
      if ('error' in r) w.reject(failure(r.error, 'WORKER_FAILED'));
      else w.resolve(r.result);
      if (this.waiting.size === 0) worker.unref();
    });
    const lost = (why: string) => {
      this.lostWhy ??= why;
      for (const w of this.waiting.values()) w.reject(new RelpropError('WORKER_FAILED', `a replica of the model ${why}`));
      this.waiting.clear();
    };
    worker.on('error', (e) => lost(`failed: ${e.message}`));
    worker.on('exit', (code) => lost(`ended (exit code ${code})`));
    // Idle, it must not keep a process alive that is otherwise done. A 'message' listener refs a worker
    // again, so this comes after the listeners (as in ../wasm/threads.ts); a job refs it until answered.
    worker.unref();
  }

  /** Why it can take no more jobs (it failed or ended), or null. */
  get broken(): string | null {
    return this.lostWhy;
  }

  static async start(graph: Graph, setup: Omit<ReplicaSetup, 'graph'>): Promise<Replica> {
    const { Worker } = await import('node:worker_threads');
    const workerData: ReplicaSetup = { ...setup, graph: { input: graph.input, nodes: graph.nodes, output: graph.output } };
    const file = new URL('./replica-worker.js', import.meta.url);
    // Run from source (tests, tsx), the worker is TypeScript: it registers tsx, whose loader a worker does not inherit.
    const worker = import.meta.url.endsWith('.ts')
      ? new Worker(`import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(file.href.replace(/\.js$/, '.ts'))}); })`, { eval: true, workerData, execArgv: [] })
      : new Worker(file, { workerData, execArgv: [] });
    const listeners: [string, (...a: any[]) => void][] = [];
    try {
      await new Promise<void>((resolve, reject) => {
        listeners.push(
          ['message', (m: { ready?: boolean; failed?: Failure }) => (m.ready ? resolve() : reject(failure(m.failed ?? { message: 'no reason given' }, 'WORKER_FAILED')))],
          ['error', (e: Error) => reject(new RelpropError('WORKER_FAILED', `a replica of the model could not start: ${e.message}`))],
          ['exit', (code: number) => reject(new RelpropError('WORKER_FAILED', `a replica of the model ended before it started (exit code ${code})`))],
        );
        for (const [event, f] of listeners) worker.on(event, f);
      });
    } catch (e) {
      void worker.terminate();
      throw e;
    } finally {
      for (const [event, f] of listeners) worker.off(event, f);
    }
    return new Replica(worker);
  }

  private send(job: Omit<ReplicaJob, 'id' | 'x'>, x: Float32Array): Promise<Record<string, Float32Array | number[]>> {
    if (this.lostWhy) return Promise.reject(new RelpropError('WORKER_FAILED', `a replica of the model ${this.lostWhy}`));
    const id = this.next++;
    const copy = x.slice();
    return new Promise((resolve, reject) => {
      try {
        this.worker.postMessage({ ...job, id, x: copy.buffer, targets: [...job.targets] }, [copy.buffer]);
      } catch (e) {
        reject(new RelpropError('WORKER_FAILED', `a job could not be sent to a replica of the model: ${(e as Error).message}`));
        return;
      }
      this.waiting.set(id, { resolve, reject });
      this.worker.ref();
    });
  }

  async forward(x: Float32Array, n: number) {
    return (await this.send({ pass: 'forward', n, targets: [] }, x)).logits as Float32Array;
  }
  async forwardSeries(start: Float32Array, changes: readonly InputChange[]) {
    return (await this.send({ pass: 'forwardSeries', n: changes.length + 1, targets: [], changes }, start)).logits as Float32Array;
  }
  async gradient(x: Float32Array, n: number, targets: Targets) {
    return (await this.send({ pass: 'gradient', n, targets }, x)) as { gradient: Float32Array; logits: Float32Array; targets: number[] };
  }
  async lrp(x: Float32Array, n: number, targets: Targets, composite: { spec: CompositeSpec }) {
    return (await this.send({ pass: 'lrp', n, targets, composite: composite.spec }, x)) as { relevance: Float32Array; logits: Float32Array; targets: number[] };
  }
  async layerGradient(x: Float32Array, n: number, targets: Targets, layer: string) {
    return (await this.send({ pass: 'layerGradient', n, targets, layer }, x)) as { activation: Float32Array; gradient: Float32Array; logits: Float32Array; targets: number[] };
  }

  dispose(): Promise<number> {
    return this.worker.terminate();
  }
}

/**
 * A model's replicas, started when first asked for and kept until the model is disposed: a set for each
 * number of threads, kernels and memory limit asked for (a call never loses its replicas to another
 * call's). A set with a replica that failed or ended is replaced on the next call (its jobs have failed).
 */
export class ReplicaSet {
  private readonly sets = new Map<string, Promise<Replica[]>>();

  constructor(
    private readonly graph: Graph,
    private readonly inputRange?: { low: BoundSpec; high: BoundSpec },
  ) {}

  async get(count: number, build: KernelBuild, memoryLimit?: number): Promise<Replica[]> {
    const key = `${count} ${build} ${memoryLimit}`;
    const kept = this.sets.get(key);
    if (kept) {
      const replicas = await kept.catch(() => null);
      if (replicas && replicas.every((r) => !r.broken)) return replicas;
      // Replaced once: calls that find it broken at the same time share the new set.
      if (this.sets.get(key) === kept) {
        this.sets.delete(key);
        replicas?.forEach((r) => void r.dispose());
      }
      return this.get(count, build, memoryLimit);
    }
    const started = Promise.allSettled(Array.from({ length: count }, () => Replica.start(this.graph, { build, memoryLimit, inputRange: this.inputRange })));
    const replicas = started.then((all) => {
      const failed = all.find((r) => r.status === 'rejected');
      if (!failed) return all.map((r) => (r as PromiseFulfilledResult<Replica>).value);
      for (const r of all) if (r.status === 'fulfilled') void r.value.dispose();
      throw failed.reason;
    });
    this.sets.set(key, replicas);
    // A set that failed to start is not kept: the next call tries again.
    replicas.catch(() => this.sets.get(key) === replicas && this.sets.delete(key));
    return replicas;
  }

  dispose(): void {
    for (const set of this.sets.values()) set.then((all) => all.forEach((r) => void r.dispose()), () => {});
    this.sets.clear();
  }
}
