/**
 * The node types of relprop's graph IR. Activations are NCHW (or N x features after Flatten/Linear);
 * shapes stored on nodes are per sample, without the batch dimension. Weights are float32 as they come
 * from trained models; engines widen them as they need. Each op's node type is declared in its module
 * (src/ops/<op>.ts); the registry (src/ops/index.ts) makes them one union.
 */
import type { Conv2dNode } from '../ops/conv2d.js';
import type { LinearNode } from '../ops/linear.js';

export type { GraphNode, OpType } from '../ops/index.js';
export type { AnyNode, NodeBase, Pads, Pair, Shape } from './node.js';

/** Layers with weights that LRP's affine rules (epsilon, z-plus, gamma, ...) apply to. */
export type AffineNode = Conv2dNode | LinearNode;

export function isAffine(node: { op: string }): node is AffineNode {
  return node.op === 'Conv2d' || node.op === 'Linear';
}
