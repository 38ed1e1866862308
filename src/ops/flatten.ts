import type { NodeBase } from '../graph/node.js';
import { defineOp } from './op.js';

export interface FlattenNode extends NodeBase {
  op: 'Flatten';
}

/** [C, H, W] to [C*H*W]: the same values, relevance passes. */
export const flattenOp = defineOp<FlattenNode>({
  type: 'Flatten',
  arity: 1,
  role: 'pass',
  accepts: ['pass'],
  sign: 'keeps',
  shape: (_node, [s]) => [s.reduce((a, b) => a * b, 1)],
  reference: { forward: (_node, [x]) => x, gradient: (_node, R) => [R] },
  wasm: { forward: (_node, [x]) => x, gradient: (_node, R) => [R] },
});
