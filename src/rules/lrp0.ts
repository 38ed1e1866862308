/**
 * LRP-0 (Bach et al. 2015): relevance in proportion to each input's contribution,
 *
 *   R_j = sum_k  x_j w_jk / z_k * R_k,     z_k = sum_i x_i w_ik + b_k
 *
 * On ReLU networks it equals gradient x input (when the starting relevance is the logit). Only the
 * stabilizer (default 1e-6) keeps z_k = 0 from dividing by zero.
 */
import { epsilonRule } from './epsilon.js';
import { DEFAULT_STABILIZER } from './stabilizer.js';
import type { AffineRule } from './types.js';

export function lrp0Rule({ stabilizer = DEFAULT_STABILIZER, ignoreBias = false } = {}): AffineRule {
  const inner = epsilonRule({ epsilon: stabilizer, ignoreBias });
  return { ...inner, name: 'lrp0', label: `lrp0${ignoreBias ? '(no bias)' : ''}` };
}
