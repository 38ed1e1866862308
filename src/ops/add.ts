import { fail } from '../errors.js';
import type { NodeBase } from '../graph/node.js';
import { BINARY } from '../wasm/codes.js';
import { defineOp, where } from './op.js';

export interface AddNode extends NodeBase {
  op: 'Add';
}

/** The sum of two or more values of one shape (residual connections), explained by Norm. */
export const addOp = defineOp<AddNode>({
  type: 'Add',
  arity: 'many',
  role: 'sum',
  writesRelu: true,
  locality: 'elementwise',
  accepts: ['norm'],
  sign: 'keeps',
  shape(node, ins) {
    for (const s of ins) {
      if (s.length !== ins[0].length || s.some((d, i) => d !== ins[0][i])) {
        fail('BAD_GRAPH', `${where(node)} adds inputs of different shapes: ${ins.map((x) => `[${x}]`).join(' + ')}`);
      }
    }
    return ins[0];
  },
  reference: {
    forward(_node, xs) {
      const out = Float64Array.from(xs[0]);
      for (const other of xs.slice(1)) for (let i = 0; i < out.length; i++) out[i] += other[i];
      return out;
    },
    gradient: (node, R) => node.inputs.map(() => R),
    transpose: (node, s) => node.inputs.map(() => s),
  },
  wasm: {
    forward(node, xs, c) {
      const out = c.output(node);
      // The ReLU after a residual sum, applied with its last addition: one pass and one activation fewer.
      const last = c.reluInPlace(node) ? BINARY.add_relu : BINARY.add;
      xs.slice(1).forEach((x, i) => c.elementwise('binary', [i === xs.length - 2 ? last : BINARY.add, i === 0 ? xs[0].ptr : out.ptr, x.ptr, out.ptr, out.n], out.n));
      return out;
    },
    gradient: (node, R) => node.inputs.map(() => R),
    transpose: (node, s) => node.inputs.map(() => s),
  },
});
