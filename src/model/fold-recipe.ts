import type { GraphNode } from './ops.js';

/** How a BatchNorm-folded layer's weights derive from the original ones: W'[c, ...] = scale[c] * W[c, ...]. */
export interface FoldRecipe {
  weight: Float32Array;
  scale: Float64Array;
  bias: Float32Array;
}

const recipes = new WeakMap<GraphNode, FoldRecipe>();

export function setFoldRecipe(node: GraphNode, recipe: FoldRecipe): void {
  recipes.set(node, recipe);
}

/** The recipe of a folded layer, so an engine can fold while uploading (and shapes can be checked) without materializing. */
export function foldRecipe(node: GraphNode): FoldRecipe | undefined {
  return recipes.get(node);
}

/** Length of a layer's weights, without materializing folded ones. */
export function weightLength(node: GraphNode & { weight: Float32Array }): number {
  return recipes.get(node)?.weight.length ?? node.weight.length;
}
