/**
 * A value plus a constant, y = x + c (a transformer's position embedding), by the epsilon rule: x keeps
 * its share, the constant absorbs the rest (AttnLRP's proportional add, LXT's add2 with c held):
 *
 *   R_x = x R / stab(x + c)
 */
import { DEFAULT_TRANSFORMER_STABILIZER } from './stabilizer.js';
import { jacobianRule } from './jacobian.js';
import type { JacobianRule } from './types.js';

export function proportionalRule({ stabilizer = DEFAULT_TRANSFORMER_STABILIZER } = {}): JacobianRule {
  return jacobianRule({ name: 'proportional', label: `proportional(${stabilizer})`, stabilizer });
}
