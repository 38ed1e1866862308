import type { AffineLayer } from './types.js';

/**
 * x = x^+ + x^-, the split of the sign-aware rules (z-plus, alpha-beta, gamma), of a layer's input. An
 * input with no negative element (every layer after a ReLU) gives x itself as x^+ and no x^- (null),
 * so the rules leave out the x^- terms, which would be zero, without computing them.
 */
export function signParts<T>(layer: AffineLayer<T>): { xp: T; xn: T | null } {
  const { math, x } = layer;
  if (layer.xNonNegative || math.isNonNegative(x)) return { xp: x, xn: null };
  return { xp: math.pos(x), xn: math.neg(x) };
}
