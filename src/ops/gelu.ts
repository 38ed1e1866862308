import { fail } from '../errors.js';
import type { NodeBase } from '../graph/node.js';
import { erf } from '../reference/kernels/erf.js';
import type { Vec } from '../rules/types.js';
import { defineOp, where } from './op.js';

/** GELU: x Phi(x) ('none', by erf) or its tanh approximation ('tanh'), as PyTorch's nn.GELU(approximate). */
export interface GELUNode extends NodeBase {
  op: 'GELU';
  approximate: 'none' | 'tanh';
}

const K = Math.sqrt(2 / Math.PI);

function gelu(x: number, tanh: boolean): number {
  return tanh ? 0.5 * x * (1 + Math.tanh(K * (x + 0.044715 * x * x * x))) : 0.5 * x * (1 + erf(x / Math.SQRT2));
}

/** d GELU / dx, as PyTorch's backward computes it. */
function slope(x: number, tanh: boolean): number {
  if (!tanh) return 0.5 * (1 + erf(x / Math.SQRT2)) + (x * Math.exp(-0.5 * x * x)) / Math.sqrt(2 * Math.PI);
  const t = Math.tanh(K * (x + 0.044715 * x * x * x));
  return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * K * (1 + 3 * 0.044715 * x * x);
}


/** An activation: relevance passes (as Zennit, and LXT's identity rule); the gradient is f'(x) times the incoming one. */
export const geluOp = defineOp<GELUNode>({
  type: 'GELU',
  arity: 1,
  role: 'pass',
  locality: 'elementwise',
  accepts: ['pass'],
  shape(node, [s]) {
    if (node.approximate !== 'none' && node.approximate !== 'tanh') fail('BAD_GRAPH', `${where(node)}: approximate must be 'none' or 'tanh', got ${String(node.approximate)}`);
    return s;
  },
  reference: {
    forward: (node, [x]) => x.map((v) => gelu(v, node.approximate === 'tanh')),
    gradient(node, R, c) {
      const x = c.value(node.inputs[0]);
      const out: Vec = R.map((r, i) => r * slope(x[i], node.approximate === 'tanh'));
      return [out];
    },
  },
  // In float32 (assembly/gelu.ts): erf and exp by polynomials, within 1e-6 of the float64 reference.
  wasm: {
    forward(node, [x], c) {
      const out = c.output(node);
      c.k.gelu(x.ptr, out.ptr, out.n, node.approximate === 'tanh' ? 1 : 0);
      return out;
    },
    gradient(node, R, c) {
      const dx = c.inputSized(node, `the gradient at "${node.name}"`);
      c.k.gelu_gradient(c.value(node.inputs[0]).ptr, R.ptr, dx.ptr, dx.n, node.approximate === 'tanh' ? 1 : 0);
      return [dx];
    },
  },
});
