import type { Graph } from './graph.js';
import type { GraphNode } from './nodes.js';

/**
 * Whether a graph is a transformer's: it has a product of two values (MatMul: attention's Q K^T and
 * A V). Its explanations default to the transformer composites, and its values after the patch
 * embedding are tokens, not feature maps.
 */
export function hasAttention(graph: { readonly nodes: readonly GraphNode[] }): boolean {
  return graph.nodes.some((n) => n.op === 'MatMul');
}

/** Ops that move values: attention's projections reach its products through them. */
const MOVES = new Set<string>(['Reshape', 'Transpose', 'Slice', 'Take', 'BatchNorm']);

/** The Linear layers next to a product of two values, through moves only: q, k, v and out-projections. */
export function attentionLinears(graph: Graph): Set<string> {
  const found = new Set<string>();
  const up = (name: string): void => {
    const n = graph.byName.get(name);
    if (n?.op === 'Linear') found.add(n.name);
    else if (n && MOVES.has(n.op)) up(n.inputs[0]);
  };
  const down = (name: string): void => {
    for (const n of graph.consumers.get(name) ?? []) {
      if (n.op === 'Linear') found.add(n.name);
      else if (MOVES.has(n.op)) down(n.name);
    }
  };
  for (const n of graph.nodes) {
    if (n.op !== 'MatMul') continue;
    n.inputs.forEach(up);
    down(n.name);
  }
  return found;
}
