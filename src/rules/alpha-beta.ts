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
import { signParts } from './sign-parts.js';
import { DEFAULT_STABILIZER } from './stabilizer.js';
import type { AffineLayer, AffineRule, Transform } from './types.js';

export function alphaBetaRule({ alpha = 2, beta = 1, stabilizer = DEFAULT_STABILIZER, ignoreBias = false } = {}): AffineRule {
  if (!(alpha >= 0 && beta >= 0)) fail('BAD_OPTION', `alpha-beta needs alpha >= 0 and beta >= 0, got alpha=${alpha}, beta=${beta}`);
  if (Math.abs(alpha - beta - 1) > 1e-12) fail('BAD_OPTION', `alpha-beta needs alpha - beta = 1, got alpha=${alpha}, beta=${beta}`);
  return {
    kind: 'affine',
    readsZ: false,
    name: 'alpha-beta',
    label: `alpha-beta(alpha=${alpha}, beta=${beta}${ignoreBias ? ', no bias' : ''})`,
    relevance<T>(layer: AffineLayer<T>, R: T): T {
      const { math } = layer;
      const { xp, xn } = signParts(layer);
      // sum over both input signs of x^sign * t(W) (and its transpose), with t chosen per sign
      const z = (tPos: Transform, tNeg: Transform, b: Transform | null) => {
        const zp = layer.apply(xp, tPos, ignoreBias ? null : b);
        return xn ? math.add(zp, layer.apply(xn, tNeg, null)) : zp;
      };
      const r = (s: T, tPos: Transform, tNeg: Transform) => {
        const rp = math.mul(xp, layer.transpose(s, tPos));
        return xn ? math.add(rp, math.mul(xn, layer.transpose(s, tNeg))) : rp;
      };
      const sPos = math.divStab(R, z('w+', 'w-', 'w+'), stabilizer);
      const sNeg = math.divStab(R, z('w-', 'w+', 'w-'), stabilizer);
      return math.sub(math.scale(r(sPos, 'w+', 'w-'), alpha), math.scale(r(sNeg, 'w-', 'w+'), beta));
    },
  };
}
