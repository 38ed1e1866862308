import { fail } from '../errors.js';
import type { NodeBase, Pads, Pair } from '../graph/node.js';
import { maxPool, maxPoolRoute, poolShape } from '../reference/kernels/pool.js';
import { defineOp, where } from './op.js';
import { expectMap, spatial } from './shapes.js';

export interface MaxPool2dNode extends NodeBase {
  op: 'MaxPool2d';
  kernel: Pair;
  stride: Pair;
  /** Padded positions never win (they count as -infinity). */
  pads: Pads;
}

/** Max pooling; relevance goes to each window's winner (winner-take-all, its gradient's routing). */
export const maxPoolOp = defineOp<MaxPool2dNode>({
  type: 'MaxPool2d',
  arity: 1,
  role: 'wta',
  locality: 'window',
  accepts: [],
  sign: 'keeps',
  shape(node, [s]) {
    const [c, h, w] = expectMap(node, s);
    const [ho, wo] = spatial(node, h, w, node.kernel, node.stride, node.pads);
    if (node.pads[0] >= node.kernel[0] || node.pads[1] >= node.kernel[1] || node.pads[2] >= node.kernel[0] || node.pads[3] >= node.kernel[1]) {
      fail('BAD_GRAPH', `${where(node)}: padding [${node.pads}] must be smaller than the kernel [${node.kernel}], or a window would hold only padding`);
    }
    return [c, ho, wo];
  },
  reference: {
    forward(node, [x], c) {
      const { y, winners } = maxPool(x, poolShape(c.batch, c.graph.shape(node.inputs[0]), c.graph.shape(node.name)), node);
      c.kept.set(node.name, winners);
      return y;
    },
    gradient: (node, R, c) => [maxPoolRoute(R, c.kept.get(node.name)!, c.value(node.inputs[0]).length)],
  },
  wasm: {
    forward(node, [x], c) {
      const out = c.output(node);
      const win = c.arena.alloc(out.n * 4, `the max-pool winners of "${node.name}"`);
      const [ch, h, w] = c.graph.shape(node.inputs[0]);
      const [, ho, wo] = c.graph.shape(node.name);
      c.elementwise('maxpool_forward', [x.ptr, out.ptr, win, c.batch * ch, h, w, ho, wo, node.kernel[0], node.kernel[1], node.stride[0], node.stride[1], node.pads[0], node.pads[1]], out.n);
      c.kept.set(node.name, win);
      return out;
    },
    gradient(node, R, c) {
      const dx = c.inputSized(node, `the gradient at "${node.name}"`);
      c.k.maxpool_route(R.ptr, c.kept.get(node.name)!, dx.ptr, R.n, dx.n);
      return [dx];
    },
  },
});
