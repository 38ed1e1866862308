import { fail } from '../errors.js';
import type { NodeBase } from '../model/ops.js';
import { batchNorm, batchNormGrad } from '../reference/ops/elementwise.js';
import { defineOp, plane, where, type WasmContext } from './op.js';

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
    const n = node.channels;
    const scale = c.arena.alloc(n * 4, `the BatchNorm scale of "${node.name}"`);
    const shift = c.arena.alloc(n * 4, `the BatchNorm shift of "${node.name}"`);
    const s = Float64Array.from(node.gamma, (gm, i) => gm / Math.sqrt(node.variance[i] + node.epsilon));
    c.arena.f32(scale, n).set(s);
    c.arena.f32(shift, n).set(Float64Array.from(s, (si, i) => node.beta[i] - node.mean[i] * si));
    return { scale, shift };
  });
}

/** Inference-mode BatchNorm, y = (x - mean) s + beta; folded into the Conv/Linear before it where there is one. */
export const batchNormOp = defineOp<BatchNormNode>({
  type: 'BatchNorm',
  arity: 1,
  role: 'batchnorm',
  accepts: ['pass'],
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
  },
});
