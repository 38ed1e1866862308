import type { NodeBase } from '../graph/node.js';
import type { Vec } from '../rules/types.js';
import { rowsOf } from './linear.js';
import { defineOp } from './op.js';

export interface SoftmaxNode extends NodeBase {
  op: 'Softmax';
}

/** d softmax: g_in = s (g - sum_j s_j g_j), per row of the last axis. */
function softmaxGradient(s: ArrayLike<number>, g: ArrayLike<number>, rows: number): Vec {
  const n = s.length / rows;
  const out = new Float64Array(s.length);
  for (let r = 0; r < rows; r++) {
    let dot = 0;
    for (let i = 0; i < n; i++) dot += s[r * n + i] * g[r * n + i];
    for (let i = 0; i < n; i++) out[r * n + i] = s[r * n + i] * (g[r * n + i] - dot);
  }
  return out;
}

const rows = (node: SoftmaxNode, c: { batch: number; graph: { shape(n: string): readonly number[] } }) => c.batch * rowsOf(c.graph.shape(node.name));

/**
 * A softmax over the last axis of each sample: a classifier's final one (explanations start at its
 * input) or one inside the model (a transformer's attention), which relevance passes unless a rule of
 * the model's composite says otherwise.
 */
export const softmaxOp = defineOp<SoftmaxNode>({
  type: 'Softmax',
  arity: 1,
  role: 'pass',
  accepts: ['pass', 'jacobian'],
  sign: 'always',
  shape: (_node, [s]) => s,
  reference: {
    forward: (node, [x], c) => softmaxRows(x, rows(node, c)),
    gradient: (node, R, c) => [softmaxGradient(c.value(node.name), R, rows(node, c))],
  },
  // In float32 (assembly/softmax.ts).
  wasm: {
    forward(node, [x], c) {
      const out = c.output(node);
      const n = rows(node, c);
      c.k.softmax(x.ptr, out.ptr, n, out.n / n);
      return out;
    },
    gradient(node, R, c) {
      const dx = c.inputSized(node, `the gradient at "${node.name}"`);
      const n = rows(node, c);
      c.k.softmax_gradient(c.value(node.name).ptr, R.ptr, dx.ptr, n, dx.n / n);
      return [dx];
    },
  },
});


/** Softmax of each of `batch` rows (in float64). */
export function softmaxRows(x: ArrayLike<number>, batch: number): Float64Array {
  const n = x.length / batch;
  const out = new Float64Array(x.length);
  for (let b = 0; b < batch; b++) {
    let max = -Infinity;
    for (let i = 0; i < n; i++) max = Math.max(max, x[b * n + i]);
    let total = 0;
    for (let i = 0; i < n; i++) total += out[b * n + i] = Math.exp(x[b * n + i] - max);
    for (let i = 0; i < n; i++) out[b * n + i] /= total;
  }
  return out;
}
