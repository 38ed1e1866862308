/**
 * Softmax by its Deep-Taylor rule at the input (AttnLRP, Achtibat et al. 2024, Prop. 3.1; LXT's softmax_fn):
 *
 *   R_j = x_j (R_j - s_j sum_k R_k)
 *
 * x its input logits, s its output: the Jacobian rule with no stabilizer (s > 0). Not conservative: the
 * sum loses sum_j s_j x_j * sum_k R_k, what LXT calls the softmax's bias.
 */
import { jacobianRule } from './jacobian.js';
import type { JacobianRule } from './types.js';

export function softmaxRule(): JacobianRule {
  return jacobianRule({ name: 'softmax', label: 'softmax (deep taylor)', stabilizer: 0 });
}
