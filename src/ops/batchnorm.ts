import { fail } from '../errors.js';
import type { NodeBase } from '../graph/node.js';
import { batchNorm, batchNormGrad } from '../reference/kernels/elementwise.js';
import { transformValue } from '../rules/transform.js';
import type { Transform } from '../rules/types.js';
import { defineOp, plane, upload, where, type WasmContext } from './op.js';

export interface BatchNormNode extends NodeBase {
  op: 'BatchNorm';
  channels: number;
  gamma: Float32Array;
  beta: Float32Array;
  mean: Float32Array;
  variance: Float32Array;
  epsilon: number;
}

/** BatchNorm's scale s = gamma / sqrt(var + eps) and shift beta - mean * s, in wasm memory once a session. */
function wasmParams(node: BatchNormNode, c: WasmContext): { scale: number; shift: number } {
  return c.constants(node, () => {
    const { scale, shift } = scaleShift(node);
    return { scale: upload(c, scale, `the BatchNorm scale of "${node.name}"`), shift: upload(c, shift, `the BatchNorm shift of "${node.name}"`) };
  });
}

const transformed = (v: Float64Array, t: Transform) => v.map((w) => transformValue(t, w));

/** The per-channel scale s = gamma / sqrt(var + eps) and shift beta - mean * s, in float64. */
function scaleShift(node: BatchNormNode): { scale: Float64Array; shift: Float64Array } {
  const scale = Float64Array.from(node.gamma, (gm, i) => gm / Math.sqrt(node.variance[i] + node.epsilon));
  return { scale, shift: Float64Array.from(scale, (si, i) => node.beta[i] - node.mean[i] * si) };
}

/**
 * Inference-mode BatchNorm, y = (x - mean) s + beta = s x + t; folded into the Conv/Linear before it
 * where there is one. Standalone (DenseNet's BN -> ReLU -> Conv), it is an affine layer with a diagonal
 * weight s and bias t, and the affine rules apply to it (epsilon by default).
 */
export const batchNormOp = defineOp<BatchNormNode>({
  type: 'BatchNorm',
  arity: 1,
  role: 'batchnorm',
  locality: 'elementwise',
  accepts: ['affine', 'pass'],
  shape(node, [s]) {
    const ch = s[0];
    if (ch !== node.channels) fail('BAD_GRAPH', `${where(node)} normalizes ${node.channels} channels, input has ${ch}`);
    for (const key of ['gamma', 'beta', 'mean', 'variance'] as const) {
      if (node[key].length !== ch) fail('BAD_GRAPH', `${where(node)}: ${key} has ${node[key].length} values, expected ${ch}`);
    }
    if (!(node.epsilon >= 0)) fail('BAD_GRAPH', `${where(node)} has epsilon ${node.epsilon}`);
    return s;
  },
  reference: {
    forward: (node, [x], c) => batchNorm(x, node, plane(c.graph.shape(node.inputs[0]))),
    gradient: (node, R, c) => [batchNormGrad(R, node, plane(c.graph.shape(node.inputs[0])))],
    affine(node, c) {
      const p = plane(c.graph.shape(node.inputs[0]));
      const { scale, shift } = scaleShift(node);
      const channel = (i: number) => Math.floor(i / p) % node.channels;
      return {
        apply(x, w, b) {
          const [s, t] = [transformed(scale, w), b === null ? null : transformed(shift, b)];
          return x.map((v, i) => s[channel(i)] * v + (t ? t[channel(i)] : 0));
        },
        transpose(r, w) {
          const s = transformed(scale, w);
          return r.map((v, i) => s[channel(i)] * v);
        },
      };
    },
  },
  wasm: {
    forward(node, [x], c) {
      const out = c.output(node);
      const p = wasmParams(node, c);
      c.k.channel_affine(x.ptr, p.scale, p.shift, out.ptr, out.n, plane(c.graph.shape(node.inputs[0])), node.channels);
      return out;
    },
    gradient(node, R, c) {
      const dx = c.inputSized(node, `the gradient at "${node.name}"`);
      c.k.channel_affine(R.ptr, wasmParams(node, c).scale, 0, dx.ptr, dx.n, plane(c.graph.shape(node.inputs[0])), node.channels);
      return [dx];
    },
    affine(node, c) {
      // A rule's transformed scale and shift are C values each: made in the node's scratch per use.
      const p = plane(c.graph.shape(node.inputs[0]));
      const { scale, shift } = scaleShift(node);
      return {
        apply(x, w, b) {
          const out = c.output(node);
          const t = b === null ? 0 : upload(c, transformed(shift, b), `a rule's BatchNorm shift at "${node.name}"`);
          c.k.channel_affine(x.ptr, upload(c, transformed(scale, w), `a rule's BatchNorm scale at "${node.name}"`), t, out.ptr, out.n, p, node.channels);
          return out;
        },
        transpose(r, w) {
          const dx = c.inputSized(node, `a rule's transpose at "${node.name}"`);
          c.k.channel_affine(r.ptr, upload(c, transformed(scale, w), `a rule's BatchNorm scale at "${node.name}"`), 0, dx.ptr, dx.n, p, node.channels);
          return dx;
        },
      };
    },
  },
});
