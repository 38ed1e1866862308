import { foldedWeight } from '../graph/canonicalize.js';
import type { Graph } from '../graph/graph.js';
import type { AffineNode } from '../graph/nodes.js';
import { opOf, type ReferenceContext } from '../ops/index.js';

/** Every value of a forward pass (batch-major, float64) and max-pool winners, kept for the backward pass. */
export interface Activations {
  readonly batch: number;
  readonly values: Map<string, Float64Array>;
  readonly winners: Map<string, Int32Array>;
  /** A run's weights with folded BatchNorm applied, by node (see foldedWeight). */
  readonly weights: Map<string, Float32Array>;
}

/** A node's folded weights, made once into `memo`. */
export function weightOf(node: AffineNode, memo: Map<string, Float32Array>): Float32Array {
  let w = memo.get(node.name);
  if (!w) memo.set(node.name, (w = foldedWeight(node)));
  return w;
}

/**
 * Runs the graph on a batch in float64. This is the specification the wasm engine is tested against:
 * plain loops, no blocking, no reordering beyond what the formulas say (each op's module holds its own).
 */
export function referenceForward(graph: Graph, input: Float64Array, batch: number, until?: string): Activations {
  const values = new Map<string, Float64Array>([[graph.input.name, input]]);
  const winners = new Map<string, Int32Array>();
  const weights = new Map<string, Float32Array>();
  const context: ReferenceContext = {
    graph,
    batch,
    value: (name) => values.get(name)!,
    kept: winners,
    weight: (node) => weightOf(node as AffineNode, weights),
  };
  for (const node of graph.nodes) {
    values.set(node.name, opOf(node).reference.forward(node, node.inputs.map(context.value), context));
    if (node.name === until) break;
  }
  return { batch, values, winners, weights };
}
