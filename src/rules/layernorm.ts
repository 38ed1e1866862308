/**
 * LayerNorm with its standard deviation held constant (AttnLRP; LXT's layer_norm_grad_fn), then the
 * epsilon rule over the affine map that is left, y = w (x - mean(x)) / sigma + b (b absorbing its share):
 *
 *   R_x = x (t - mean(t)),   t = w R / (sigma stab(y))
 */
import { DEFAULT_TRANSFORMER_STABILIZER } from './stabilizer.js';
import { jacobianRule } from './jacobian.js';
import type { JacobianRule } from './types.js';

export function layerNormRule({ stabilizer = DEFAULT_TRANSFORMER_STABILIZER } = {}): JacobianRule {
  return jacobianRule({ name: 'layernorm', label: `layernorm(${stabilizer})`, stabilizer, held: true });
}
