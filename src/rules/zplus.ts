/**
 * z-plus (Montavon et al. 2017), i.e. alpha-beta with alpha = 1, beta = 0, allowing negative inputs as
 * Zennit does: only the positive contributions count,
 *
 *   R_j = sum_k  (x_j^+ w_jk^+ + x_j^- w_jk^-) / stab(z_k^+) * R_k,
 *   z_k^+ = sum_i (x_i^+ w_ik^+ + x_i^- w_ik^-) + b_k^+
 *
 * The positive part of the bias stays in the denominator (it absorbs relevance) unless biases are ignored.
 */
import { add, mul, neg, pos } from './math.js';
import { DEFAULT_STABILIZER, divideStabilized } from './stabilizer.js';
import type { AffineLayer, AffineRule, Vec } from './types.js';

export function zPlusRule({ stabilizer = DEFAULT_STABILIZER, ignoreBias = false } = {}): AffineRule {
  return {
    kind: 'affine',
    name: 'zplus',
    label: `zplus${ignoreBias ? '(no bias)' : ''}`,
    relevance(layer: AffineLayer, R: Vec): Vec {
      const [xp, xn, wp, wn] = [pos(layer.x), neg(layer.x), pos(layer.weight), neg(layer.weight)];
      const bp = ignoreBias || !layer.bias ? null : pos(layer.bias);
      const z = add(layer.apply(xp, wp, bp), layer.apply(xn, wn, null));
      const s = divideStabilized(R, z, stabilizer);
      return add(mul(xp, layer.transpose(s, wp)), mul(xn, layer.transpose(s, wn)));
    },
  };
}
