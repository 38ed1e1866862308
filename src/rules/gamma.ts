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
import { add, addScaled, mul, neg, pos } from './math.js';
import { DEFAULT_STABILIZER, divideStabilized } from './stabilizer.js';
import type { AffineLayer, AffineRule, Vec } from './types.js';

export function gammaRule({ gamma = 0.25, stabilizer = DEFAULT_STABILIZER, ignoreBias = false } = {}): AffineRule {
  return {
    kind: 'affine',
    name: 'gamma',
    label: `gamma(gamma=${gamma}${ignoreBias ? ', no bias' : ''})`,
    relevance(layer: AffineLayer, R: Vec): Vec {
      const { x, weight: w } = layer;
      const b = ignoreBias ? null : layer.bias;
      const [xp, xn] = [pos(x), neg(x)];
      const wUp = addScaled(w, gamma, pos(w));
      const wDown = addScaled(w, gamma, neg(w));
      const z = layer.apply(x, w, b);
      const zUp = add(layer.apply(xp, wUp, b && addScaled(b, gamma, pos(b))), layer.apply(xn, wDown, null));
      const zDown = add(layer.apply(xp, wDown, b && addScaled(b, gamma, neg(b))), layer.apply(xn, wUp, null));
      const sUp = divideStabilized(R.map((r, k) => (z[k] > 0 ? r : 0)), zUp, stabilizer);
      const sDown = divideStabilized(R.map((r, k) => (z[k] < 0 ? r : 0)), zDown, stabilizer);
      return add(
        mul(xp, layer.transpose(sUp, wUp)),
        mul(xn, layer.transpose(sUp, wDown)),
        mul(xp, layer.transpose(sDown, wDown)),
        mul(xn, layer.transpose(sDown, wUp)),
      );
    },
  };
}
