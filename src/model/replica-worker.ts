/**
 * A replica's thread (src/model/replica.ts): the model's graph, rebuilt from plain data, on an engine of
 * its own that runs one thread; it runs the passes its parent sends, one job at a time, in order.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { resolveComposite } from '../composites.js';
import { RelpropError } from '../errors.js';
import { canonicalize } from '../graph/canonicalize.js';
import { Graph } from '../graph/graph.js';
import { WasmEngine } from '../wasm/engine.js';
import { enginePasses } from './passes.js';
import type { ReplicaJob, ReplicaSetup } from './replica.js';

const port = parentPort!;
const setup = workerData as ReplicaSetup;
try {
  const graph = new Graph(setup.graph.input, [...setup.graph.nodes], setup.graph.output);
  const canonical = new Map<boolean, Graph>();
  const engine = await WasmEngine.create(setup.memoryLimit, setup.build);
  // Pieces come at most the parent's chunk in size: each runs as one engine run.
  const passes = enginePasses({ engine, threads: 1, inputRange: setup.inputRange, chunk: Number.MAX_SAFE_INTEGER, graph: (fold) => canonical.get(fold) ?? canonical.set(fold, canonicalize(graph, { foldBatchNorm: fold })).get(fold)! });
  // A first forward uploads the weights: the start pays for it, and a memory limit too low shows here.
  await passes.forward(new Float32Array(graph.input.shape.reduce((a, b) => a * b, 1)), 1);
  const run = async (job: ReplicaJob, x: Float32Array): Promise<object> => {
    switch (job.pass) {
      case 'forward':
        return { logits: await passes.forward(x, job.n) };
      case 'forwardSeries':
        return { logits: await passes.forwardSeries(x, job.changes!) };
      case 'gradient':
        return passes.gradient(x, job.n, job.targets);
      case 'lrp':
        return passes.lrp(x, job.n, job.targets, resolveComposite(job.composite));
      case 'layerGradient':
        return passes.layerGradient(x, job.n, job.targets, job.layer!);
    }
  };
  port.on('message', async (job: ReplicaJob) => {
    try {
      const result = await run(job, new Float32Array(job.x));
      const buffers = Object.values(result).flatMap((v) => (v instanceof Float32Array ? [v.buffer as ArrayBuffer] : []));
      port.postMessage({ id: job.id, result }, buffers);
    } catch (e) {
      port.postMessage({ id: job.id, error: { code: e instanceof RelpropError ? e.code : undefined, message: (e as Error).message } });
    }
  });
  port.postMessage({ ready: true });
} catch (e) {
  port.postMessage({ failed: { code: e instanceof RelpropError ? e.code : undefined, message: (e as Error).message } });
}
