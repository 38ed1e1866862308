/**
 * w-square (Montavon et al. 2017): shares by squared weight, ignoring the input values,
 *
 *   R_j = sum_k  w_jk^2 / stab(z_k) * R_k,     z_k = sum_i w_ik^2 + b_k^2
 *
 * The squared bias stays in the denominator (absorbing relevance) unless biases are ignored.
 */
import { DEFAULT_STABILIZER } from './stabilizer.js';
import type { AffineLayer, AffineRule } from './types.js';

export function wSquareRule({ stabilizer = DEFAULT_STABILIZER, ignoreBias = false } = {}): AffineRule {
  return {
    kind: 'affine',
    readsZ: false,
    name: 'wsquare',
    label: `wsquare${ignoreBias ? '(no bias)' : ''}`,
    relevance<T>(layer: AffineLayer<T>, R: T): T {
      const { math } = layer;
      const z = layer.apply(math.ones(layer.x), 'w^2', ignoreBias ? null : 'w^2');
      return layer.transpose(math.divStab(R, z, stabilizer), 'w^2');
    },
  };
}
