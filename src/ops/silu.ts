import type { NodeBase } from '../graph/node.js';
import { activationOp, sigmoid } from './activation.js';

/** x sigmoid(x), also called Swish (EfficientNet). */
export interface SiLUNode extends NodeBase {
  op: 'SiLU';
}

export const siluOp = activationOp<SiLUNode>({
  type: 'SiLU',
  code: 'silu',
  params: () => [0, 0],
  f: (x) => x * sigmoid(x),
  df: (x) => sigmoid(x) * (1 + x * (1 - sigmoid(x))),
  nonNegative: () => false,
});
