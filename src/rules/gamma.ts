/**
 * gamma (Montavon et al. 2019), in the generalised signed form of Zennit (Andeol et al. 2021): each
 * output is explained by the contributions that agree with its sign, with those weights boosted by gamma.
 *
 *   for z_k > 0:  R_j = sum_k (x_j^+ (w_jk + g w_jk^+) + x_j^- (w_jk + g w_jk^-)) / stab(z_k^up) * R_k
 *                 z_k^up   = sum_i x_i^+ (w_ik + g w_ik^+) + x_i^- (w_ik + g w_ik^-) + b_k + g b_k^+
 *   for z_k < 0:  R_j = sum_k (x_j^+ (w_jk + g w_jk^-) + x_j^- (w_jk + g w_jk^+)) / stab(z_k^down) * R_k
 *                 z_k^down = sum_i x_i^+ (w_ik + g w_ik^-) + x_i^- (w_ik + g w_ik^+) + b_k + g b_k^-
 *   for z_k = 0:  the relevance R_k is dropped.
 *
 * z_k is the layer's plain output. With non-negative inputs and z_k > 0 this is the original gamma rule.
 */
import { signParts } from './sign-parts.js';
import { DEFAULT_STABILIZER } from './stabilizer.js';
import type { AffineLayer, AffineRule, Transform } from './types.js';

export function gammaRule({ gamma = 0.25, stabilizer = DEFAULT_STABILIZER, ignoreBias = false } = {}): AffineRule {
  const up: Transform = { gamma, part: '+' };
  const down: Transform = { gamma, part: '-' };
  return {
    kind: 'affine',
    name: 'gamma',
    label: `gamma(gamma=${gamma}${ignoreBias ? ', no bias' : ''})`,
    relevance<T>(layer: AffineLayer<T>, R: T): T {
      const { ops, x } = layer;
      const { xp, xn } = signParts(layer);
      const zOf = (tPos: Transform, tNeg: Transform) => {
        const zp = layer.apply(xp, tPos, ignoreBias ? null : tPos);
        return xn ? ops.add(zp, layer.apply(xn, tNeg, null)) : zp;
      };
      const rOf = (s: T, tPos: Transform, tNeg: Transform) => {
        const rp = ops.mul(xp, layer.transpose(s, tPos));
        return xn ? ops.add(rp, ops.mul(xn, layer.transpose(s, tNeg))) : rp;
      };
      const z = layer.apply(x, 'w', ignoreBias ? null : 'w');
      const sUp = ops.divStab(ops.where(R, z, '+'), zOf(up, down), stabilizer);
      const sDown = ops.divStab(ops.where(R, z, '-'), zOf(down, up), stabilizer);
      return ops.add(rOf(sUp, up, down), rOf(sDown, down, up));
    },
  };
}
