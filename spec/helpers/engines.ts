/**
 * The wasm engine held to the float64 reference: both builds of the kernels run a graph's forward and
 * one backward pass, compared over whole outputs.
 *
 * Tolerance: max |wasm - reference| <= 1e-4 * max |reference| over the whole output (float32 storage
 * and summation against float64). Single elements are not compared relatively: an output near zero
 * after cancellation has no meaningful relative error in float32.
 */
import { propagate } from '../../src/propagation/propagate.js';
import type { Graph } from '../../src/graph/graph.js';
import { referenceEngine } from '../../src/reference/engine.js';
import type { RuleSpec } from '../../src/rules/index.js';
import type { Rule } from '../../src/rules/types.js';
import { WasmEngine } from '../../src/wasm/engine.js';
import { expectClose } from './compare.js';

export const TOL = 1e-4;
// Both builds of the kernels (spec/setup.ts lets Node 20 run the relaxed one); each is held to the reference.
export const engines = [await WasmEngine.create(undefined, 'relaxed-simd'), await WasmEngine.create(undefined, 'simd')];

/** Whole outputs within TOL of the reference's scale. */
export function expectWasmClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  expectClose(actual, expected, TOL, what);
}

/** Runs forward and one backward pass with `rules` on the reference and both wasm builds and compares them. */
export function compare(graph: Graph, x: Float32Array, batch: number, rules: Map<string, Rule>, start: Float64Array, what: string) {
  const ref = referenceEngine.run(graph, x, batch);
  try {
    const logits = ref.logits();
    const relevance = propagate(ref, rules, start).relevance;
    for (const e of engines) {
      const wasm = e.run(graph, x, batch);
      try {
        expectWasmClose(wasm.logits(), logits, `${what} forward (${e.build})`);
        expectWasmClose(propagate(wasm, rules, start).relevance, relevance, `${what} relevance (${e.build})`);
      } finally {
        wasm.release();
      }
    }
  } finally {
    ref.release();
  }
}

export const AFFINE_RULES: RuleSpec[] = [
  'lrp0',
  { rule: 'epsilon', epsilon: 0.01 },
  { rule: 'gamma', gamma: 0.25 },
  { rule: 'alpha-beta', alpha: 2, beta: 1 },
  { rule: 'alpha-beta', alpha: 1, beta: 0, ignoreBias: true },
  'zplus',
  'flat',
  'wsquare',
  { rule: 'zbox', low: -1, high: 1 },
  'zbox',
  'gradient',
];

