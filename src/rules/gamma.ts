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
 *
 * Computed as written, that is four modified convolutions and four transposed ones a layer. Both
 * directions share terms, the rule's own algebra with w = w^+ + w^- and x = x^+ + x^-:
 *   q = sum_i x_i^+ w_ik^+ + x_i^- w_ik^- + b_k^+   (the contributions that raise z_k), so
 *   z^up = z + g q   and   z^down = z + g (z - q);
 *   with s_up, s_down the two quotients (each zero where the other is not), a = s_up + (1 + g) s_down
 *   and d = g (s_up - s_down):
 *   R_j = x_j (W^T a)_j + x_j^+ (W^+T d)_j + x_j^- (W^-T d)_j.
 * z is the forward pass's: one modified convolution and two transposed ones after a ReLU (x^- = 0),
 * two and three otherwise. Relevance that came through a ReLU is zero wherever z_k <= 0, so s_down is
 * zero: then the rule is its z_k > 0 line alone, one modified convolution and one transposed (x^- = 0), as
 * cheap as z-plus. In ResNet-50 that is every convolution but the two before each residual sum.
 */
import { signParts } from './sign-parts.js';
import { DEFAULT_STABILIZER } from './stabilizer.js';
import type { AffineLayer, AffineRule, Transform } from './types.js';

export function gammaRule({ gamma = 0.25, stabilizer = DEFAULT_STABILIZER, ignoreBias = false } = {}): AffineRule {
  const up: Transform = { gamma, part: '+' };
  const down: Transform = { gamma, part: '-' };
  return {
    kind: 'affine',
    readsZ: true,
    name: 'gamma',
    label: `gamma(gamma=${gamma}${ignoreBias ? ', no bias' : ''})`,
    relevance<T>(layer: AffineLayer<T>, R: T): T {
      const { math, x } = layer;
      const { xp, xn } = signParts(layer);
      const z = layer.apply(x, 'w', ignoreBias ? null : 'w');
      if (math.onlyWherePositive(R, z)) {
        const zUp = layer.apply(xp, up, ignoreBias ? null : up);
        const s = math.divStab(R, xn ? math.add(zUp, layer.apply(xn, down, null)) : zUp, stabilizer);
        const r = math.mul(xp, layer.transpose(s, up));
        return xn ? math.add(r, math.mul(xn, layer.transpose(s, down))) : r;
      }
      const qp = layer.apply(xp, 'w+', ignoreBias ? null : 'w+');
      const q = xn ? math.add(qp, layer.apply(xn, 'w-', null)) : qp;
      const [a, d] = math.gammaQuotients(R, z, q, gamma, stabilizer);
      const r = math.add(math.mul(x, layer.transpose(a, 'w')), math.mul(xp, layer.transpose(d, 'w+')));
      return xn ? math.add(r, math.mul(xn, layer.transpose(d, 'w-'))) : r;
    },
  };
}
