import { fail } from '../errors.js';
import type { NodeBase } from '../graph/node.js';
import { linear, linearTranspose } from '../reference/kernels/linear.js';
import { f64, transformed } from '../reference/weights.js';
import { defineOp, where } from './op.js';
import { checkLength } from './shapes.js';

export interface LinearNode extends NodeBase {
  op: 'Linear';
  inFeatures: number;
  outFeatures: number;
  /** [outFeatures, inFeatures] (PyTorch layout) */
  weight: Float32Array;
  /** A BatchNorm folded in (canonicalization): the layer's weights are scale[o] * weight[o, ...] (see foldedWeight). */
  scale?: Float64Array;
  bias: Float32Array | null;
}

/** z = W x + b on a feature vector; affine rules apply. */
export const linearOp = defineOp<LinearNode>({
  type: 'Linear',
  arity: 1,
  role: 'linear',
  accepts: ['affine'],
  shape(node, [s]) {
    if (s.length !== 1) fail('BAD_GRAPH', `${where(node)} needs a flat input; got [${s}] (add a Flatten before it)`);
    if (s[0] !== node.inFeatures) fail('BAD_GRAPH', `${where(node)} expects ${node.inFeatures} input features, got ${s[0]}`);
    checkLength(node, 'weight', node.weight.length, node.outFeatures * node.inFeatures);
    checkLength(node, 'bias', node.bias, node.outFeatures);
    return [node.outFeatures];
  },
  reference: {
    forward: (node, [x], c) => linear(x, c.batch, node.inFeatures, node.outFeatures, f64(c.weight(node)), f64(node.bias)),
    gradient: (node, R, c) => [linearTranspose(R, c.batch, node.inFeatures, node.outFeatures, f64(c.weight(node)))],
    affine(node, c) {
      const { inFeatures: nin, outFeatures: nout } = node;
      const weight = c.weight(node);
      return {
        apply: (x, w, b) => linear(x, c.batch, nin, nout, transformed(weight, w), b === null || node.bias === null ? null : transformed(node.bias, b)),
        transpose: (s, w) => linearTranspose(s, c.batch, nin, nout, transformed(weight, w)),
      };
    },
  },
  wasm: {
    forward: (node, [x], c) => c.affineForward(node, x),
    gradient: (node, R, c) => [c.affineGradient(node, R)],
    affine: (node, c) => c.weightedMaps(node),
  },
});
