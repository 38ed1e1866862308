import type { NodeBase } from '../graph/node.js';
import { activationOp } from './activation.js';

/** The hyperbolic tangent (SSR-Net's age and gender stages, older Keras models). */
export interface TanhNode extends NodeBase {
  op: 'Tanh';
}

export const tanhOp = activationOp<TanhNode>({
  type: 'Tanh',
  code: 'tanh',
  params: () => [0, 0],
  f: Math.tanh,
  df: (x) => 1 / Math.cosh(x) ** 2,
  nonNegative: () => false,
});
