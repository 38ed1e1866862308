import { fail } from '../errors.js';
import type { NodeBase } from '../graph/node.js';
import { activationOp } from './activation.js';
import { where } from './op.js';

/** clip(alpha x + beta, 0, 1): PyTorch's is alpha 1/6, beta 1/2; ONNX's default alpha 0.2. */
export interface HardSigmoidNode extends NodeBase {
  op: 'HardSigmoid';
  alpha: number;
  beta: number;
}

export const hardSigmoidOp = activationOp<HardSigmoidNode>({
  type: 'HardSigmoid',
  code: 'hardsigmoid',
  params: (node) => [node.alpha, node.beta],
  f: (x, a, b) => Math.min(Math.max(a * x + b, 0), 1),
  df: (x, a, b) => (a * x + b > 0 && a * x + b < 1 ? a : 0),
  nonNegative: () => true,
  check(node) {
    if (!Number.isFinite(node.alpha) || !Number.isFinite(node.beta)) fail('BAD_GRAPH', `${where(node)} has alpha ${node.alpha}, beta ${node.beta}`);
  },
});
