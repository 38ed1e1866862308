/**
 * alpha-beta (Bach et al. 2015), with the positive and negative parts each in their own denominator:
 *
 *   R_j = sum_k [ alpha * (x_j^+ w_jk^+ + x_j^- w_jk^-) / stab(z_k^+)
 *               - beta  * (x_j^+ w_jk^- + x_j^- w_jk^+) / stab(z_k^-) ] * R_k
 *   z_k^+ = sum_i (x_i^+ w_ik^+ + x_i^- w_ik^-) + b_k^+
 *   z_k^- = sum_i (x_i^+ w_ik^- + x_i^- w_ik^+) + b_k^-
 *
 * alpha - beta = 1 is required (it makes the rule conservative); the usual choice is alpha=2, beta=1.
 */
import { fail } from '../errors.js';
import { DEFAULT_STABILIZER } from './stabilizer.js';
import type { AffineLayer, AffineRule } from './types.js';

export function alphaBetaRule({ alpha = 2, beta = 1, stabilizer = DEFAULT_STABILIZER, ignoreBias = false } = {}): AffineRule {
  if (!(alpha >= 0 && beta >= 0)) fail('BAD_OPTION', `alpha-beta needs alpha >= 0 and beta >= 0, got alpha=${alpha}, beta=${beta}`);
  if (Math.abs(alpha - beta - 1) > 1e-12) fail('BAD_OPTION', `alpha-beta needs alpha - beta = 1, got alpha=${alpha}, beta=${beta}`);
  return {
    kind: 'affine',
    name: 'alpha-beta',
    label: `alpha-beta(alpha=${alpha}, beta=${beta}${ignoreBias ? ', no bias' : ''})`,
    relevance<T>(layer: AffineLayer<T>, R: T): T {
      const { ops } = layer;
      const [xp, xn] = [ops.pos(layer.x), ops.neg(layer.x)];
      const zPos = ops.add(layer.apply(xp, 'w+', ignoreBias ? null : 'w+'), layer.apply(xn, 'w-', null));
      const zNeg = ops.add(layer.apply(xp, 'w-', ignoreBias ? null : 'w-'), layer.apply(xn, 'w+', null));
      const sPos = ops.divStab(R, zPos, stabilizer);
      const sNeg = ops.divStab(R, zNeg, stabilizer);
      const rPos = ops.add(ops.mul(xp, layer.transpose(sPos, 'w+')), ops.mul(xn, layer.transpose(sPos, 'w-')));
      const rNeg = ops.add(ops.mul(xp, layer.transpose(sNeg, 'w-')), ops.mul(xn, layer.transpose(sNeg, 'w+')));
      return ops.sub(ops.scale(rPos, alpha), ops.scale(rNeg, beta));
    },
  };
}
