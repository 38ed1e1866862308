/**
 * LRP-epsilon (Bach et al. 2015):
 *
 *   R_j = sum_k  x_j w_jk / stab(z_k, epsilon) * R_k,     z_k = sum_i x_i w_ik + b_k
 *
 * with stab(z, e) = z + e * sign(z). A larger epsilon absorbs weak or contradictory contributions.
 * Zennit's default epsilon is 1e-6; with that value it is LRP-0 up to the stabilizer.
 */
import { DEFAULT_STABILIZER } from './stabilizer.js';
import type { AffineLayer, AffineRule } from './types.js';

export interface EpsilonOptions {
  epsilon?: number;
  /** Leave the bias out of z (Zennit's zero_params=['bias']). */
  ignoreBias?: boolean;
}

export function epsilonRule({ epsilon = DEFAULT_STABILIZER, ignoreBias = false }: EpsilonOptions = {}): AffineRule {
  return {
    kind: 'affine',
    readsZ: true,
    name: 'epsilon',
    label: `epsilon(epsilon=${epsilon}${ignoreBias ? ', no bias' : ''})`,
    relevance<T>(layer: AffineLayer<T>, R: T): T {
      const { math, x } = layer;
      const z = layer.apply(x, 'w', ignoreBias ? null : 'w');
      return math.mul(x, layer.transpose(math.divStab(R, z, epsilon), 'w'));
    },
  };
}
