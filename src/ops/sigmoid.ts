import type { NodeBase } from '../graph/node.js';
import { activationOp, sigmoid } from './activation.js';

/** 1 / (1 + e^-x). */
export interface SigmoidNode extends NodeBase {
  op: 'Sigmoid';
}

export const sigmoidOp = activationOp<SigmoidNode>({
  type: 'Sigmoid',
  code: 'sigmoid',
  params: () => [0, 0],
  f: sigmoid,
  df: (x) => sigmoid(x) * (1 - sigmoid(x)),
  nonNegative: () => true,
});
