/**
 * A product of two values, Z = A B (a transformer's Q K^T and A V), by the uniform epsilon rule
 * (AttnLRP; LXT's matmul_fn): each factor gets half of the output's relevance by the epsilon rule,
 *
 *   R_A = A (R / stab(2 Z) B^T),   R_B = B (A^T R / stab(2 Z))
 */
import { DEFAULT_TRANSFORMER_STABILIZER } from './stabilizer.js';
import { jacobianRule } from './jacobian.js';
import type { JacobianRule } from './types.js';

export function uniformRule({ stabilizer = DEFAULT_TRANSFORMER_STABILIZER } = {}): JacobianRule {
  return jacobianRule({ name: 'uniform', label: `uniform(${stabilizer})`, stabilizer, share: 2 });
}
