/**
 * flat (Lapuschkin et al. 2019): every input in a neuron's receptive field gets an equal share, whatever
 * its value or weight:
 *
 *   R_j = sum_k  1 / stab(z_k) * R_k,     z_k = sum_i 1 * 1   (the receptive field's size; no bias)
 *
 * Padded positions are outside the receptive field and get nothing. Used on the first layer, where
 * pixel values carry no meaning of "contribution".
 */
import { ones } from './math.js';
import { DEFAULT_STABILIZER, divideStabilized } from './stabilizer.js';
import type { AffineLayer, AffineRule, Vec } from './types.js';

export function flatRule({ stabilizer = DEFAULT_STABILIZER } = {}): AffineRule {
  return {
    kind: 'affine',
    name: 'flat',
    label: 'flat',
    relevance(layer: AffineLayer, R: Vec): Vec {
      const w1 = ones(layer.weight.length);
      const z = layer.apply(ones(layer.x.length), w1, null);
      return layer.transpose(divideStabilized(R, z, stabilizer), w1);
    },
  };
}
