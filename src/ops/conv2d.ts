import { fail } from '../errors.js';
import type { NodeBase, Pads, Pair } from '../graph/node.js';
import { conv2d, conv2dTranspose, convGeometry } from '../reference/kernels/conv2d.js';
import { f64, transformed } from '../reference/weights.js';
import { defineOp, where, type ReferenceContext } from './op.js';
import { checkLength, expectMap, spatial } from './shapes.js';

export interface Conv2dNode extends NodeBase {
  op: 'Conv2d';
  inChannels: number;
  outChannels: number;
  kernel: Pair;
  stride: Pair;
  pads: Pads;
  dilation: Pair;
  groups: number;
  /** [outChannels, inChannels, kh, kw] */
  weight: Float32Array;
  /** A BatchNorm folded in (canonicalization): the layer's weights are scale[o] * weight[o, ...] (see foldedWeight). */
  scale?: Float64Array;
  bias: Float32Array | null;
}

const geometry = (node: Conv2dNode, c: ReferenceContext) => convGeometry(node, c.batch, c.graph.shape(node.inputs[0]), c.graph.shape(node.name));

/**
 * z = W * x + b over a sliding window, in `groups` independent channel groups (depthwise: one input
 * channel a group); affine rules apply (BatchNorm after it folds in), per group as the weights say.
 */
export const conv2dOp = defineOp<Conv2dNode>({
  type: 'Conv2d',
  arity: 1,
  role: 'conv',
  locality: 'window',
  accepts: ['affine'],
  shape(node, [s]) {
    const [c, h, w] = expectMap(node, s);
    const G = node.groups;
    if (!Number.isInteger(G) || G < 1 || node.inChannels % G !== 0 || node.outChannels % G !== 0) {
      fail('BAD_GRAPH', `${where(node)} has groups=${G}, which must be a positive integer dividing its ${node.inChannels} input and ${node.outChannels} output channels`);
    }
    if (c !== node.inChannels) fail('BAD_GRAPH', `${where(node)} expects ${node.inChannels} input channels, got ${c}`);
    checkLength(node, 'weight', node.weight.length, node.outChannels * (node.inChannels / G) * node.kernel[0] * node.kernel[1]);
    checkLength(node, 'bias', node.bias, node.outChannels);
    const [ho, wo] = spatial(node, h, w, node.kernel, node.stride, node.pads, node.dilation);
    return [node.outChannels, ho, wo];
  },
  reference: {
    forward: (node, [x], c) => conv2d(x, geometry(node, c), f64(c.weight(node)), f64(node.bias)),
    gradient: (node, R, c) => [conv2dTranspose(R, geometry(node, c), f64(c.weight(node)))],
    affine(node, c) {
      const g = geometry(node, c);
      const weight = c.weight(node);
      return {
        apply: (x, w, b) => conv2d(x, g, transformed(weight, w), b === null || node.bias === null ? null : transformed(node.bias, b)),
        transpose: (s, w) => conv2dTranspose(s, g, transformed(weight, w)),
      };
    },
  },
  wasm: {
    forward: (node, [x], c) => c.affineForward(node, x),
    gradient: (node, R, c) => [c.affineGradient(node, R)],
    affine: (node, c) => c.weightedMaps(node),
  },
});
