import type { NodeBase } from '../graph/node.js';
import { relu, reluGrad } from '../reference/kernels/elementwise.js';
import { defineOp } from './op.js';

export interface ReLUNode extends NodeBase {
  op: 'ReLU';
}

/** max(x, 0); relevance passes through unchanged (as every activation in Zennit). */
export const reluOp = defineOp<ReLUNode>({
  type: 'ReLU',
  arity: 1,
  role: 'pass',
  locality: 'elementwise',
  accepts: ['pass'],
  sign: 'always',
  convEpilogue: () => Infinity,
  shape: (_node, [s]) => s,
  reference: {
    forward: (_node, [x]) => relu(x),
    gradient: (node, R, c) => [reluGrad(R, c.value(node.inputs[0]))],
  },
  wasm: {
    forward(node, [x], c) {
      const out = c.output(node);
      c.elementwise('relu', [x.ptr, out.ptr, out.n], out.n);
      return out;
    },
    gradient(node, R, c) {
      const dx = c.inputSized(node, `the gradient at "${node.name}"`);
      c.k.relu_mask(R.ptr, c.value(node.name).ptr, dx.ptr, dx.n);
      return [dx];
    },
  },
});
