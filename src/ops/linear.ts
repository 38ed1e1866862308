import { fail } from '../errors.js';
import type { NodeBase } from '../graph/node.js';
import { linear, linearTranspose } from '../reference/kernels/linear.js';
import { f64, transformed } from '../reference/weights.js';
import { defineOp, where, type ReferenceContext } from './op.js';
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

/** A sample's rows: the values before its last axis (1 for a feature vector; a transformer's tokens). */
export const rowsOf = (inputShape: readonly number[]) => inputShape.slice(0, -1).reduce((a, b) => a * b, 1);

/** z = W x + b on a feature vector, or on each row of a sample (its last axis: a transformer's tokens); affine rules apply. */
/** Rows of a run: the batch's samples times each one's rows. */
const rows = (node: LinearNode, c: ReferenceContext) => c.batch * rowsOf(c.graph.shape(node.inputs[0]));

export const linearOp = defineOp<LinearNode>({
  type: 'Linear',
  arity: 1,
  role: 'linear',
  accepts: ['affine'],
  shape(node, [s]) {
    if (s[s.length - 1] !== node.inFeatures) fail('BAD_GRAPH', `${where(node)} expects ${node.inFeatures} input features on its last axis, got [${s}]${s.length === 3 ? ' (a map needs a Flatten before it)' : ''}`);
    checkLength(node, 'weight', node.weight.length, node.outFeatures * node.inFeatures);
    checkLength(node, 'bias', node.bias, node.outFeatures);
    return [...s.slice(0, -1), node.outFeatures];
  },
  reference: {
    forward: (node, [x], c) => linear(x, rows(node, c), node.inFeatures, node.outFeatures, f64(c.weight(node)), f64(node.bias)),
    gradient: (node, R, c) => [linearTranspose(R, rows(node, c), node.inFeatures, node.outFeatures, f64(c.weight(node)))],
    affine(node, c) {
      const { inFeatures: nin, outFeatures: nout } = node;
      const weight = c.weight(node);
      const n = rows(node, c);
      return {
        apply: (x, w, b) => linear(x, n, nin, nout, transformed(weight, w), b === null || node.bias === null ? null : transformed(node.bias, b)),
        transpose: (s, w) => linearTranspose(s, n, nin, nout, transformed(weight, w)),
      };
    },
  },
  wasm: {
    forward: (node, [x], c) => c.affineForward(node, x),
    gradient: (node, R, c) => [c.affineGradient(node, R)],
    affine: (node, c) => c.weightedMaps(node),
  },
});
