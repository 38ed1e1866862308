/**
 * z-box, or z^B (Montavon et al. 2017), for inputs known to lie in a box low <= x <= high:
 *
 *   R_j = sum_k (x_j w_jk - l_j w_jk^+ - h_j w_jk^-) / stab(z_k) * R_k,
 *   z_k = sum_i  x_i w_ik - l_i w_ik^+ - h_i w_ik^-
 *
 * (the bias cancels out of z_k), computed with w^- = w - w^+ as two convolutions and two transposed
 * ones instead of three each:
 *
 *   R_j = sum_k ((x_j - h_j) w_jk + (h_j - l_j) w_jk^+) / stab(z_k) * R_k,
 *   z_k = sum_i  (x_i - h_i) w_ik + (h_i - l_i) w_ik^+.
 *
 * Bounds are per element and zero-padded like the input, so padding
 * gets no relevance. Without explicit bounds: the model's input range from its preprocessing when known,
 * else each sample's own min and max.
 */
import { expandBound, sampleRange } from './bounds.js';
import { DEFAULT_STABILIZER } from './stabilizer.js';
import type { AffineLayer, AffineRule, BoundSpec } from './types.js';

export interface ZBoxOptions {
  low?: BoundSpec;
  high?: BoundSpec;
  /** Use each sample's own min and max even when the model's input range is known. */
  sampleBounds?: boolean;
  stabilizer?: number;
}

export function zBoxRule({ low, high, sampleBounds = false, stabilizer = DEFAULT_STABILIZER }: ZBoxOptions = {}): AffineRule {
  return {
    kind: 'affine',
    readsZ: false,
    name: 'zbox',
    label: `zbox(${low !== undefined && high !== undefined ? 'given bounds' : sampleBounds ? 'sample min/max' : 'input range'})`,
    relevance<T>(layer: AffineLayer<T>, R: T): T {
      const { math, x } = layer;
      const { l, h } = bounds(layer, low, high, sampleBounds);
      const [xh, hl] = [math.sub(x, h), math.sub(h, l)];
      const s = math.divStab(R, math.add(layer.apply(xh, 'w', null), layer.apply(hl, 'w+', null)), stabilizer);
      return math.add(math.mul(xh, layer.transpose(s, 'w')), math.mul(hl, layer.transpose(s, 'w+')));
    },
  };
}

function bounds<T>(layer: AffineLayer<T>, low: BoundSpec | undefined, high: BoundSpec | undefined, sampleBounds: boolean): { l: T; h: T } {
  const fallback = sampleBounds ? null : layer.inputRange ?? null;
  const own = (low === undefined || high === undefined) && !fallback ? sampleRange(layer.math.toHost(layer.x), layer.batch) : null;
  const pick = (given: BoundSpec | undefined, known: BoundSpec | undefined, ownValues: Float64Array | undefined, what: string): T => {
    if (given !== undefined) return layer.math.fromHost(expandBound(given, layer.batch, layer.inputShape, `z-box ${what} bound for layer "${layer.name}"`));
    if (known !== undefined) return layer.math.fromHost(expandBound(known, layer.batch, layer.inputShape, `input range ${what} bound`));
    return layer.math.fromHost(ownValues!);
  };
  return {
    l: pick(low, fallback?.low, own?.low, 'low'),
    h: pick(high, fallback?.high, own?.high, 'high'),
  };
}
