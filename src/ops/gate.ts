import { fail } from '../errors.js';
import type { NodeBase } from '../graph/node.js';
import { defineOp, plane, where } from './op.js';

/**
 * y = x * g with g one factor per channel, [C, 1, 1] against x's [C, H, W] (squeeze-and-excitation, in
 * MobileNetV3 and EfficientNet). The gate is computed from x through a Sigmoid or HardSigmoid; the
 * importers make a Gate only of such a product and refuse other products of two values. LRP holds the
 * gate constant: the pass rule gives all of y's relevance to x and none to the gate's branch (as Zennit's
 * and iNNvestigate's treatments of multiplicative gates do); the gradient flows into both.
 */
export interface GateNode extends NodeBase {
  op: 'Gate';
}

export const gateOp = defineOp<GateNode>({
  type: 'Gate',
  arity: 'many',
  role: 'pass',
  locality: 'elementwise',
  accepts: ['pass'],
  passesTo: 'first',
  sign: 'keeps',
  shape(node, ins) {
    if (ins.length !== 2) fail('BAD_GRAPH', `${where(node)} has ${ins.length} inputs; a gate has a value and its gate`);
    const [x, g] = ins;
    const perChannel = g.length === x.length && g[0] === x[0] && g.slice(1).every((d) => d === 1);
    if (!perChannel) fail('BAD_GRAPH', `${where(node)} gates a [${x}] value with a [${g}] gate; the gate must be one factor per channel, [${x[0]}${',1'.repeat(x.length - 1)}]`);
    return x;
  },
  reference: {
    forward(node, [x, g], c) {
      const p = plane(c.graph.shape(node.inputs[0]));
      return x.map((v, i) => v * g[Math.floor(i / p)]);
    },
    gradient(node, R, c) {
      const p = plane(c.graph.shape(node.inputs[0]));
      const x = c.value(node.inputs[0]);
      const g = c.value(node.inputs[1]);
      const dg = new Float64Array(g.length);
      for (let i = 0; i < R.length; i++) dg[Math.floor(i / p)] += R[i] * x[i];
      return [R.map((r, i) => r * g[Math.floor(i / p)]), dg];
    },
  },
  wasm: {
    forward(node, [x, g], c) {
      const out = c.output(node);
      c.k.plane_scale(x.ptr, g.ptr, out.ptr, g.n, plane(c.graph.shape(node.inputs[0])));
      return out;
    },
    gradient(node, R, c) {
      const p = plane(c.graph.shape(node.inputs[0]));
      const g = c.value(node.inputs[1]);
      const dx = c.inputSized(node, `the gradient at "${node.name}"`);
      const dg = c.sized(node.inputs[1], `the gate's gradient at "${node.name}"`);
      c.k.plane_scale(R.ptr, g.ptr, dx.ptr, g.n, p);
      c.k.plane_dot(R.ptr, c.value(node.inputs[0]).ptr, dg.ptr, g.n, p);
      return [dx, dg];
    },
  },
});
