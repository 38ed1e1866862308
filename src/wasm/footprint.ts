import { size, type Graph } from '../graph/graph.js';
import { isAffine } from '../graph/nodes.js';

/** Bytes of a batch's input and every activation it keeps for the backward pass. */
export function inputAndActivationBytes(graph: Graph, batch: number): number {
  const input = batch * size(graph.input.shape) * 4;
  return graph.upstream(graph.logitsName).reduce((s, n) => s + batch * size(graph.shape(n.name)) * 4 + 16, input);
}

/**
 * The least wasm memory a run of `batch` images needs (weights, input, activations), from shapes
 * alone: more than the limit means no run can fit, so callers refuse before preparing any input.
 */
export function leastRunBytes(graph: Graph, batch: number): number {
  let weights = 0;
  for (const n of graph.nodes) if (isAffine(n)) weights += (n.weight.length + (n.bias?.length ?? 0)) * 4;
  return weights + inputAndActivationBytes(graph, batch);
}
