import { fail } from '../errors.js';
import type { NodeBase, Shape } from '../graph/node.js';
import { defineOp, where } from './op.js';
import { eachIndex, movePasses, strides } from './rearrange.js';

/** One position of an axis, the axis dropped (ONNX Gather of one index: a ViT's class-token read-out). */
export interface TakeNode extends NodeBase {
  op: 'Take';
  axis: number;
  index: number;
}

function sources(node: TakeNode, input: Shape, output: Shape): Int32Array {
  const s = strides(input);
  const t = new Int32Array(output.reduce((a, b) => a * b, 1));
  eachIndex(output, (i, at) => {
    let k = node.index * s[node.axis];
    for (let d = 0; d < at.length; d++) k += at[d] * s[d < node.axis ? d : d + 1];
    t[i] = k;
  });
  return t;
}

/** Values taken, not computed: relevance goes back to them (the gradient). */
export const takeOp = defineOp<TakeNode>({
  type: 'Take',
  arity: 1,
  role: 'gradient',
  accepts: [],
  sign: 'keeps',
  shape(node, [s]) {
    const { axis, index } = node;
    if (!Number.isInteger(axis) || axis < 0 || axis >= s.length || s.length < 2 || !Number.isInteger(index) || index < 0 || index >= s[axis]) {
      fail('BAD_GRAPH', `${where(node)}: position ${index} of axis ${axis} is not within [${s}] (or would leave no axis)`);
    }
    return s.filter((_, i) => i !== axis);
  },
  ...movePasses(sources),
});
