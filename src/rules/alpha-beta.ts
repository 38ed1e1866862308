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
import { add, mul, neg, pos, sub, scale } from './math.js';
import { DEFAULT_STABILIZER, divideStabilized } from './stabilizer.js';
import type { AffineLayer, AffineRule, Vec } from './types.js';

export function alphaBetaRule({ alpha = 2, beta = 1, stabilizer = DEFAULT_STABILIZER, ignoreBias = false } = {}): AffineRule {
  if (!(alpha >= 0 && beta >= 0)) fail('BAD_OPTION', `alpha-beta needs alpha >= 0 and beta >= 0, got alpha=${alpha}, beta=${beta}`);
  if (Math.abs(alpha - beta - 1) > 1e-12) fail('BAD_OPTION', `alpha-beta needs alpha - beta = 1, got alpha=${alpha}, beta=${beta}`);
  return {
    kind: 'affine',
    name: 'alpha-beta',
    label: `alpha-beta(alpha=${alpha}, beta=${beta}${ignoreBias ? ', no bias' : ''})`,
    relevance(layer: AffineLayer, R: Vec): Vec {
      const [xp, xn, wp, wn] = [pos(layer.x), neg(layer.x), pos(layer.weight), neg(layer.weight)];
      const b = ignoreBias ? null : layer.bias;
      const zPos = add(layer.apply(xp, wp, b && pos(b)), layer.apply(xn, wn, null));
      const zNeg = add(layer.apply(xp, wn, b && neg(b)), layer.apply(xn, wp, null));
      const sPos = divideStabilized(R, zPos, stabilizer);
      const sNeg = divideStabilized(R, zNeg, stabilizer);
      const rPos = add(mul(xp, layer.transpose(sPos, wp)), mul(xn, layer.transpose(sPos, wn)));
      const rNeg = add(mul(xp, layer.transpose(sNeg, wn)), mul(xn, layer.transpose(sNeg, wp)));
      return sub(scale(rPos, alpha), scale(rNeg, beta));
    },
  };
}
