/**
 * flat (Lapuschkin et al. 2019): every input in a neuron's receptive field gets an equal share, whatever
 * its value or weight:
 *
 *   R_j = sum_k  1 / stab(z_k) * R_k,     z_k = sum_i 1 * 1   (the receptive field's size; no bias)
 *
 * Padded positions are outside the receptive field and get nothing. Used on the first layer, where
 * pixel values carry no meaning of "contribution".
 */
import { DEFAULT_STABILIZER } from './stabilizer.js';
import type { AffineLayer, AffineRule } from './types.js';

export function flatRule({ stabilizer = DEFAULT_STABILIZER } = {}): AffineRule {
  return {
    kind: 'affine',
    readsZ: false,
    name: 'flat',
    label: 'flat',
    relevance<T>(layer: AffineLayer<T>, R: T): T {
      const { math } = layer;
      const z = layer.apply(math.ones(layer.x), 'ones', null);
      return layer.transpose(math.divStab(R, z, stabilizer), 'ones');
    },
  };
}
