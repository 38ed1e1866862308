// Weight transforms of the LRP rules, applied while packing so no modified weights are ever stored.
// Codes (T_*) are generated from scripts/kernel-constants.mjs; values match transformValue() in
// src/rules/transform.ts.
import { T_W, T_POS, T_NEG, T_ONES, T_SQUARE, T_GAMMA_POS, T_GAMMA_NEG } from './constants.generated';
export { T_W, T_POS, T_NEG, T_ONES, T_SQUARE, T_GAMMA_POS, T_GAMMA_NEG };

@inline
export function tf(t: i32, g: f32, w: f32): f32 {
  switch (t) {
    case T_POS:
      return w > 0 ? w : 0;
    case T_NEG:
      return w < 0 ? w : 0;
    case T_ONES:
      return 1;
    case T_SQUARE:
      return w * w;
    case T_GAMMA_POS:
      return w + g * (w > 0 ? w : 0);
    case T_GAMMA_NEG:
      return w + g * (w < 0 ? w : 0);
    default:
      return w;
  }
}

@inline
export function tfv(t: i32, g: v128, w: v128): v128 {
  const zero = f32x4.splat(0);
  switch (t) {
    case T_POS:
      return f32x4.pmax(w, zero);
    case T_NEG:
      return f32x4.pmin(w, zero);
    case T_ONES:
      return f32x4.splat(1);
    case T_SQUARE:
      return f32x4.mul(w, w);
    case T_GAMMA_POS:
      return f32x4.add(w, f32x4.mul(g, f32x4.pmax(w, zero)));
    case T_GAMMA_NEG:
      return f32x4.add(w, f32x4.mul(g, f32x4.pmin(w, zero)));
    default:
      return w;
  }
}
