import { fail } from '../errors.js';
import type { NodeBase, Pads } from '../graph/node.js';
import { crop, pad } from '../reference/kernels/elementwise.js';
import { defineOp, where } from './op.js';
import { expectMap } from './shapes.js';

export interface PadNode extends NodeBase {
  op: 'Pad';
  /** Zero padding of the spatial dimensions. */
  pads: Pads;
}

/** Zero padding of the spatial dimensions; relevance follows its gradient (a crop). Folds into a Conv after it. */
export const padOp = defineOp<PadNode>({
  type: 'Pad',
  arity: 1,
  role: 'gradient',
  // A window of one position, its pads the node's.
  locality: 'window',
  accepts: [],
  sign: 'keeps',
  shape(node, [s]) {
    const [c, h, w] = expectMap(node, s);
    if (!node.pads.every((p) => Number.isInteger(p) && p >= 0)) fail('BAD_GRAPH', `${where(node)} has invalid pads [${node.pads}]`);
    return [c, h + node.pads[0] + node.pads[2], w + node.pads[1] + node.pads[3]];
  },
  reference: {
    forward(node, [x], c) {
      const [ch, h, w] = c.graph.shape(node.inputs[0]);
      return pad(x, c.batch * ch, h, w, node.pads);
    },
    gradient(node, R, c) {
      const [ch, h, w] = c.graph.shape(node.inputs[0]);
      return [crop(R, c.batch * ch, h, w, node.pads)];
    },
  },
  wasm: {
    forward(node, [x], c) {
      const out = c.output(node);
      const [ch, h, w] = c.graph.shape(node.inputs[0]);
      const [t, l, b, r] = node.pads;
      c.k.pad_crop(x.ptr, out.ptr, 0, c.batch * ch, h, w, t, l, b, r);
      return out;
    },
    gradient(node, R, c) {
      const dx = c.inputSized(node, `the gradient at "${node.name}"`);
      const [ch, h, w] = c.graph.shape(node.inputs[0]);
      const [t, l, b, r] = node.pads;
      c.k.pad_crop(R.ptr, dx.ptr, 1, c.batch * ch, h, w, t, l, b, r);
      return [dx];
    },
  },
});
