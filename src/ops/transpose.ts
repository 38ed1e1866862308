import { fail } from '../errors.js';
import type { NodeBase } from '../graph/node.js';
import { defineOp, where } from './op.js';
import { eachIndex, movePasses, strides } from './rearrange.js';
import type { Shape } from '../graph/node.js';

/** A sample's axes permuted: output axis i is input axis perm[i] (ONNX Transpose, on one sample). */
export interface TransposeNode extends NodeBase {
  op: 'Transpose';
  perm: number[];
}

function sources(node: TransposeNode, input: Shape, output: Shape): Int32Array {
  const s = strides(input);
  const t = new Int32Array(output.reduce((a, b) => a * b, 1));
  eachIndex(output, (i, at) => {
    let k = 0;
    for (let d = 0; d < at.length; d++) k += at[d] * s[node.perm[d]];
    t[i] = k;
  });
  return t;
}

/** Values moved, not computed: relevance moves with them (the gradient). */
export const transposeOp = defineOp<TransposeNode>({
  type: 'Transpose',
  arity: 1,
  role: 'gradient',
  accepts: [],
  sign: 'keeps',
  shape(node, [s]) {
    const p = node.perm;
    if (p.length !== s.length || [...p].sort((a, b) => a - b).some((v, i) => v !== i)) fail('BAD_GRAPH', `${where(node)}: perm [${p}] is not a permutation of the ${s.length} axes of [${s}]`);
    return p.map((a) => s[a]);
  },
  ...movePasses(sources),
});
