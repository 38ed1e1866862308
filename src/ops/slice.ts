import { fail } from '../errors.js';
import type { NodeBase, Shape } from '../graph/node.js';
import { defineOp, where } from './op.js';
import { eachIndex, movePasses, strides } from './rearrange.js';

/** Positions [start, end) of one axis of a sample (ONNX Slice with step 1: q, k and v of one projection). */
export interface SliceNode extends NodeBase {
  op: 'Slice';
  axis: number;
  start: number;
  end: number;
}

function sources(node: SliceNode, input: Shape, output: Shape): Int32Array {
  const s = strides(input);
  const t = new Int32Array(output.reduce((a, b) => a * b, 1));
  eachIndex(output, (i, at) => {
    let k = node.start * s[node.axis];
    for (let d = 0; d < at.length; d++) k += at[d] * s[d];
    t[i] = k;
  });
  return t;
}

/** Values taken, not computed: relevance goes back to them (the gradient); the rest of the input gets none from here. */
export const sliceOp = defineOp<SliceNode>({
  type: 'Slice',
  arity: 1,
  role: 'gradient',
  accepts: [],
  sign: 'keeps',
  shape(node, [s]) {
    const { axis, start, end } = node;
    if (!Number.isInteger(axis) || axis < 0 || axis >= s.length || !Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > s[axis] || end <= start) {
      fail('BAD_GRAPH', `${where(node)}: positions ${start}-${end} of axis ${axis} are not within [${s}]`);
    }
    return s.map((d, i) => (i === axis ? end - start : d));
  },
  ...movePasses(sources),
});
