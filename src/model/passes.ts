/**
 * The passes attribution methods run (../attribution/types.ts), on an engine: any number of images in
 * chunks of `chunk`, each chunk one engine run, so that a method's hundreds of perturbed copies take
 * the memory of `chunk` images at a time.
 */
import type { Composite } from '../composites.js';
import type { Graph } from '../graph/graph.js';
import { applyChange } from '../graph/input-change.js';
import type { Passes, Targets } from '../attribution/types.js';
import { propagate } from '../propagation/propagate.js';
import type { Engine, Session } from '../propagation/types.js';
import { readingZ } from '../propagation/reading-z.js';
import { gradientRule } from '../rules/gradient.js';
import type { BoundSpec, Rule } from '../rules/types.js';
import { resolveTargets } from '../validate.js';

export interface PassesSetup {
  engine: Engine;
  threads: number;
  /** The canonical graph with BatchNorm folded or kept. */
  graph(foldBatchNorm: boolean): Graph;
  inputRange?: { low: BoundSpec; high: BoundSpec };
  /** Images per engine run. */
  chunk: number;
}

export function enginePasses(setup: PassesSetup): Passes {
  const { engine, threads, chunk, inputRange } = setup;
  const graph = setup.graph(true);
  const inputShape = graph.input.shape;
  const per = inputShape.reduce((a, b) => a * b, 1);
  const k = graph.numClasses;
  const gradient = gradientRule();
  const gradientRules = new Map<string, Rule>(graph.nodes.map((n) => [n.name, gradient]));

  /**
   * Runs `each` on every chunk's session after its forward, with the chunk's resolved classes and the
   * one-hot (or logit) start there; collects the logits and classes of all n images.
   */
  async function chunked(g: Graph, x: Float32Array, n: number, targets: Targets, keepZ: ReadonlySet<string>, each: (session: Session<unknown>, start: Float64Array, at: number, m: number) => void, initial: 'one-hot' | 'logit' = 'one-hot') {
    const logits = new Float32Array(n * k);
    const resolved: number[] = [];
    for (let at = 0; at < n; at += chunk) {
      const m = Math.min(chunk, n - at);
      const session = engine.run(g, x.subarray(at * per, (at + m) * per), m, threads, keepZ) as Session<unknown>;
      try {
        const l = session.logits();
        logits.set(l, at * k);
        const t = resolveTargets(targets.slice(at, at + m), l, k);
        resolved.push(...t);
        const start = new Float64Array(m * k);
        t.forEach((c, b) => {
          start[b * k + c] = initial === 'logit' ? l[b * k + c] : 1;
        });
        each(session, start, at, m);
      } finally {
        session.release();
      }
    }
    return { logits, targets: resolved };
  }

  async function forward(x: Float32Array, n: number): Promise<Float32Array> {
    const logits = new Float32Array(n * k);
    for (let at = 0; at < n; at += chunk) {
      const m = Math.min(chunk, n - at);
      const session = engine.run(graph, x.subarray(at * per, (at + m) * per), m, threads);
      try {
        logits.set(session.logits(), at * k);
      } finally {
        session.release();
      }
    }
    return logits;
  }

  return {
    graph,
    inputShape,
    numClasses: k,
    forward,
    async forwardSeries(start, changes) {
      const logits = new Float32Array((changes.length + 1) * k);
      // One thread computes each image from the one before in 0.47 of a one-thread forward (ResNet-50,
      // bench/evaluate.ts): it beats forwards split over 2 threads (0.62-0.67 of it); over more threads
      // (not measured) the images run as batched passes.
      if (engine.incremental && threads <= 2) {
        const run = engine.incremental(graph, start);
        try {
          logits.set(run.logits());
          changes.forEach((change, i) => logits.set(run.next(change), (i + 1) * k));
        } finally {
          run.release();
        }
        return logits;
      }
      // Else the images themselves, a chunk at a time.
      const image = start.slice();
      const block = new Float32Array(Math.min(chunk, changes.length + 1) * per);
      for (let at = 0; at <= changes.length; at += chunk) {
        const m = Math.min(chunk, changes.length + 1 - at);
        for (let i = 0; i < m; i++) {
          if (at + i > 0) applyChange(image, inputShape, changes[at + i - 1]);
          block.set(image, i * per);
        }
        logits.set(await forward(block.subarray(0, m * per), m), at * k);
      }
      return logits;
    },
    async gradient(x, n, targets) {
      const out = new Float32Array(n * per);
      const outputs = await chunked(graph, x, n, targets, new Set(), (session, start, at) => {
        out.set(propagate(session, gradientRules, start, { inputRange }).relevance, at * per);
      });
      return { gradient: out, ...outputs };
    },
    async lrp(x, n, targets, composite: Composite) {
      const g = setup.graph(composite.foldBatchNorm);
      const rules = composite.assign(g);
      const out = new Float32Array(n * per);
      const outputs = await chunked(
        g,
        x,
        n,
        targets,
        readingZ(rules),
        (session, start, at) => {
          out.set(propagate(session, rules, start, { inputRange }).relevance, at * per);
        },
        composite.initial,
      );
      return { relevance: out, ...outputs };
    },
    async layerGradient(x, n, targets, layer) {
      const size = graph.shape(layer).reduce((a, b) => a * b, 1);
      const activation = new Float32Array(n * size);
      const out = new Float32Array(n * size);
      // The layer's own value kept (a Conv's z, not the ReLU after it written over it).
      const outputs = await chunked(graph, x, n, targets, new Set([layer]), (session, start, at) => {
        activation.set(session.activation(layer), at * size);
        out.set(propagate(session, gradientRules, start, { inputRange, stopAt: layer }).relevance, at * size);
      });
      return { activation, gradient: out, ...outputs };
    },
  };
}
