import { fail } from '../errors.js';
import type { NodeBase } from '../graph/node.js';
import { defineOp } from './op.js';

export interface SoftmaxNode extends NodeBase {
  op: 'Softmax';
}

const through = (node: SoftmaxNode): never => fail('UNSUPPORTED', `node "${node.name}": explanations start before a Softmax, not through it`);

/** A final softmax over the class logits; explanations start at its input. */
export const softmaxOp = defineOp<SoftmaxNode>({
  type: 'Softmax',
  arity: 1,
  role: 'pass',
  accepts: ['pass'],
  sign: 'always',
  shape: (_node, [s]) => s,
  reference: {
    forward: (_node, [x], c) => softmaxRows(x, c.batch),
    gradient: through,
  },
  wasm: {
    forward: (node) => fail('UNSUPPORTED', `node "${node.name}": Softmax before the logits is not supported`),
    gradient: through,
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
