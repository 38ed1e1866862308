/**
 * Winner-take-all for max-pool: each output's relevance goes to the input that won its window (the
 * first maximum), which is exactly max-pool's gradient:
 *
 *   R_j = sum_k [j = argmax_{i in window k} x_i] * R_k
 */
import type { GradientRule } from './types.js';

export function winnerTakeAllRule(): GradientRule {
  return { kind: 'gradient', name: 'wta', label: 'winner-take-all' };
}
