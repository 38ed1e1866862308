/**
 * z-plus (Montavon et al. 2017), i.e. alpha-beta with alpha = 1, beta = 0, allowing negative inputs as
 * Zennit does: only the positive contributions count,
 *
 *   R_j = sum_k  (x_j^+ w_jk^+ + x_j^- w_jk^-) / stab(z_k^+) * R_k,
 *   z_k^+ = sum_i (x_i^+ w_ik^+ + x_i^- w_ik^-) + b_k^+
 *
 * The positive part of the bias stays in the denominator (it absorbs relevance) unless biases are ignored.
 */
import { signParts } from './sign-parts.js';
import { DEFAULT_STABILIZER } from './stabilizer.js';
import type { AffineLayer, AffineRule } from './types.js';

export function zPlusRule({ stabilizer = DEFAULT_STABILIZER, ignoreBias = false } = {}): AffineRule {
  return {
    kind: 'affine',
    readsZ: false,
    name: 'zplus',
    label: `zplus${ignoreBias ? '(no bias)' : ''}`,
    relevance<T>(layer: AffineLayer<T>, R: T): T {
      const { math } = layer;
      const { xp, xn } = signParts(layer);
      const zp = layer.apply(xp, 'w+', ignoreBias ? null : 'w+');
      const z = xn ? math.add(zp, layer.apply(xn, 'w-', null)) : zp;
      const s = math.divStab(R, z, stabilizer);
      const r = math.mul(xp, layer.transpose(s, 'w+'));
      return xn ? math.add(r, math.mul(xn, layer.transpose(s, 'w-'))) : r;
    },
  };
}
