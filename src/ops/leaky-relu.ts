import { fail } from '../errors.js';
import type { NodeBase } from '../graph/node.js';
import { activationOp } from './activation.js';
import { where } from './op.js';

/** x above 0, alpha x below. */
export interface LeakyReLUNode extends NodeBase {
  op: 'LeakyReLU';
  alpha: number;
}

export const leakyReluOp = activationOp<LeakyReLUNode>({
  type: 'LeakyReLU',
  code: 'leaky',
  params: (node) => [node.alpha, 0],
  f: (x, a) => (x > 0 ? x : a * x),
  df: (x, a) => (x > 0 ? 1 : a),
  nonNegative: (node) => node.alpha === 0,
  check(node) {
    if (!Number.isFinite(node.alpha)) fail('BAD_GRAPH', `${where(node)} has slope ${node.alpha}`);
  },
});
