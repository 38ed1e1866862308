import type { NodeBase } from '../graph/node.js';
import { checkLength } from './shapes.js';
import { defineOp, view } from './op.js';

/** x + c, c a constant of the sample's shape (a transformer's position embedding). */
export interface AddConstantNode extends NodeBase {
  op: 'AddConstant';
  /** One value a position of the sample, row-major. */
  constant: Float32Array;
}


/** Its gradient passes; the transformer composites split relevance with the constant (it absorbs its share). */
export const addConstantOp = defineOp<AddConstantNode>({
  type: 'AddConstant',
  arity: 1,
  role: 'gradient',
  accepts: ['jacobian'],
  shape(node, [s]) {
    checkLength(node, 'constant', node.constant.length, s.reduce((a, b) => a * b, 1));
    return s;
  },
  reference: {
    forward: (node, [x]) => x.map((v, i) => v + node.constant[i % node.constant.length]),
    gradient: (_node, R) => [R],
  },
  wasm: {
    forward(node, [x], c) {
      const out = c.output(node);
      const [src, dst] = [view(c, x), view(c, out)];
      for (let i = 0; i < dst.length; i++) dst[i] = src[i] + node.constant[i % node.constant.length];
      return out;
    },
    gradient: (_node, R) => [R],
  },
});
