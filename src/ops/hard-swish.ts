import type { NodeBase } from '../graph/node.js';
import { activationOp } from './activation.js';

/** x relu6(x + 3) / 6 (MobileNetV3). */
export interface HardSwishNode extends NodeBase {
  op: 'HardSwish';
}

export const hardSwishOp = activationOp<HardSwishNode>({
  type: 'HardSwish',
  code: 'hardswish',
  params: () => [0, 0],
  f: (x) => (x * Math.min(Math.max(x + 3, 0), 6)) / 6,
  df: (x) => (x < -3 ? 0 : x <= 3 ? x / 3 + 0.5 : 1),
  nonNegative: () => false,
});
