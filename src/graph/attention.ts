import type { GraphNode } from './nodes.js';

/**
 * Whether a graph is a transformer's: it has a product of two values (MatMul: attention's Q K^T and
 * A V). Its explanations default to the transformer composites, and its values after the patch
 * embedding are tokens, not feature maps.
 */
export function hasAttention(graph: { readonly nodes: readonly GraphNode[] }): boolean {
  return graph.nodes.some((n) => n.op === 'MatMul');
}
