import { fail } from '../errors.js';
import type { NodeBase, Shape } from '../graph/node.js';
import { defineOp, where } from './op.js';
import { eachIndex, movePasses, strides } from './rearrange.js';

/**
 * A constant joined to a sample along an axis, before or after it: a ViT's class token (and a DeiT's
 * distillation token) before the patch tokens.
 */
export interface ConstantConcatNode extends NodeBase {
  op: 'ConstantConcat';
  axis: number;
  /** The constant, row-major, of `constantShape`: the sample's shape but along `axis`. */
  constant: Float32Array;
  constantShape: number[];
  at: 'start' | 'end';
}

function sources(node: ConstantConcatNode, input: Shape, output: Shape): Int32Array {
  const [si, sc] = [strides(input), strides(node.constantShape)];
  const k = node.constantShape[node.axis];
  const t = new Int32Array(output.reduce((a, b) => a * b, 1));
  eachIndex(output, (i, at) => {
    const p = at[node.axis];
    const fromConstant = node.at === 'start' ? p < k : p >= input[node.axis];
    const shift = fromConstant ? (node.at === 'start' ? 0 : input[node.axis]) : node.at === 'start' ? k : 0;
    let j = 0;
    for (let d = 0; d < at.length; d++) j += (d === node.axis ? p - shift : at[d]) * (fromConstant ? sc[d] : si[d]);
    t[i] = fromConstant ? -1 - j : j;
  });
  return t;
}

/** The sample's values moved, the constant's added: relevance moves back with the sample's; the constant keeps its share. */
export const constantConcatOp = defineOp<ConstantConcatNode>({
  type: 'ConstantConcat',
  arity: 1,
  role: 'gradient',
  accepts: [],
  shape(node, [s]) {
    const c = node.constantShape;
    const fits = Number.isInteger(node.axis) && node.axis >= 0 && node.axis < s.length && c.length === s.length && c.every((d, i) => i === node.axis || d === s[i]);
    if (!fits || node.constant.length !== c.reduce((a, b) => a * b, 1) || (node.at !== 'start' && node.at !== 'end')) {
      fail('BAD_GRAPH', `${where(node)}: a constant of [${c}] (${node.constant.length} values) cannot join a [${s}] sample along axis ${node.axis}`);
    }
    return s.map((d, i) => (i === node.axis ? d + c[i] : d));
  },
  ...movePasses(sources, (node) => node.constant),
});
