import { fail } from '../errors.js';
import type { NodeBase } from '../graph/node.js';
import { defineOp, where } from './op.js';

/** A sample's values in another shape, in the same order (ONNX Reshape on one sample). */
export interface ReshapeNode extends NodeBase {
  op: 'Reshape';
  shape: number[];
}

/** The same values: relevance passes. */
export const reshapeOp = defineOp<ReshapeNode>({
  type: 'Reshape',
  arity: 1,
  role: 'pass',
  accepts: ['pass'],
  sign: 'keeps',
  shape(node, [s]) {
    const [from, to] = [s.reduce((a, b) => a * b, 1), node.shape.reduce((a, b) => a * b, 1)];
    if (!node.shape.length || !node.shape.every((d) => Number.isInteger(d) && d >= 1) || from !== to) fail('BAD_GRAPH', `${where(node)}: [${s}] (${from} values) cannot be reshaped to [${node.shape}]`);
    return [...node.shape];
  },
  reference: { forward: (_node, [x]) => x, gradient: (_node, R) => [R] },
  wasm: { forward: (_node, [x]) => x, gradient: (_node, R) => [R] },
});
