/**
 * A product of two values, Z = A V, with its first factor held constant (CP-LRP: the attention weights
 * A held, relevance through the values V only), by the epsilon rule of the map V -> A V:
 *
 *   R_V = V (A^T R / stab(Z)),   R_A = 0
 */
import { DEFAULT_TRANSFORMER_STABILIZER } from './stabilizer.js';
import { jacobianRule } from './jacobian.js';
import type { JacobianRule } from './types.js';

export function heldFirstRule({ stabilizer = DEFAULT_TRANSFORMER_STABILIZER } = {}): JacobianRule {
  return jacobianRule({ name: 'held-first', label: `held-first(${stabilizer})`, stabilizer, to: 'last' });
}
