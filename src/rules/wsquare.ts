/**
 * w-square (Montavon et al. 2017): shares by squared weight, ignoring the input values,
 *
 *   R_j = sum_k  w_jk^2 / stab(z_k) * R_k,     z_k = sum_i w_ik^2 + b_k^2
 *
 * The squared bias stays in the denominator (absorbing relevance) unless biases are ignored.
 */
import { ones, square } from './math.js';
import { DEFAULT_STABILIZER, divideStabilized } from './stabilizer.js';
import type { AffineLayer, AffineRule, Vec } from './types.js';

export function wSquareRule({ stabilizer = DEFAULT_STABILIZER, ignoreBias = false } = {}): AffineRule {
  return {
    kind: 'affine',
    name: 'wsquare',
    label: `wsquare${ignoreBias ? '(no bias)' : ''}`,
    relevance(layer: AffineLayer, R: Vec): Vec {
      const w2 = square(layer.weight);
      const b2 = ignoreBias || !layer.bias ? null : square(layer.bias);
      const z = layer.apply(ones(layer.x.length), w2, b2);
      return layer.transpose(divideStabilized(R, z, stabilizer), w2);
    },
  };
}
