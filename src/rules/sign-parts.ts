import type { AffineLayer } from './types.js';

/**
 * x = x^+ + x^-, the split of the sign-aware rules (z-plus, alpha-beta, gamma), of a layer's input. An
 * input with no negative element (every layer after a ReLU) gives x itself as x^+ and no x^- (null),
 * so the rules leave out the x^- terms, which would be zero, without computing them.
 */
export function signParts<T>(layer: AffineLayer<T>): { xp: T; xn: T | null } {
  const { ops, x } = layer;
  if (layer.xNonNegative || ops.isNonNegative(x)) return { xp: x, xn: null };
  return { xp: ops.pos(x), xn: ops.neg(x) };
}
