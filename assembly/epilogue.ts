// What a convolution does with each value v it computes, applied while the value is in a register or
// in a block still in cache: a rule's next elementwise step, fused so that neither the convolution's
// output nor the step's operand makes an extra trip through memory.
//
//   none: out = v      div: out = op / stab(v)      mul: out = op * v      mac: out = out + op * v
//   add: out = out + v      divsum: out = op / stab(out + v)
//
// div is the rules' s = R / stab(z) on a forward pass (v = z, op = R); mul and mac are R_in = x * c on
// a transposed pass (v = c, op = x), mac adding to relevance already collected. add and divsum finish
// a z that is the sum of two convolutions (x+ w+ + x- w-), the first already in out. op has out's layout.
// Codes must match EPILOGUE in src/wasm/codes.ts.
import { EPI_NONE, EPI_DIV, EPI_MUL, EPI_MAC, EPI_ADD, EPI_DIVSUM } from './constants.generated';
export { EPI_NONE, EPI_DIV, EPI_MUL, EPI_MAC, EPI_ADD, EPI_DIVSUM };

/** R / stab(z), stab(z) = z + eps sign(z) with sign(0) = +1, four lanes (eps splat); 0 where stab(z) = 0. */
@inline export function stabDiv(R: v128, z: v128, eps: v128): v128 {
  const zero = f32x4.splat(0);
  const d = f32x4.add(z, v128.bitselect(eps, f32x4.neg(eps), f32x4.ge(z, zero)));
  return v128.bitselect(f32x4.div(R, d), zero, f32x4.ne(d, zero));
}

/** The same for one value. */
@inline export function stabDivScalar(R: f32, z: f32, eps: f32): f32 {
  const d = z + (z >= 0 ? eps : -eps);
  return d != 0 ? R / d : 0;
}

/** Stores four values v at `at` through the epilogue; the operand is at at + delta (wrapping: any sign). */
@inline export function put4(at: usize, v: v128, mode: i32, delta: usize, eps: v128): void {
  if (mode == EPI_NONE) {
    v128.store(at, v);
    return;
  }
  if (mode == EPI_ADD) {
    v128.store(at, f32x4.add(v128.load(at), v));
    return;
  }
  const op = v128.load(at + delta);
  if (mode == EPI_DIVSUM) {
    v128.store(at, stabDiv(op, f32x4.add(v128.load(at), v), eps));
    return;
  }
  v128.store(at, mode == EPI_DIV ? stabDiv(op, v, eps) : mode == EPI_MUL ? f32x4.mul(op, v) : f32x4.add(v128.load(at), f32x4.mul(op, v)));
}

/** put4 for one value. */
@inline export function put1(at: usize, v: f32, mode: i32, delta: usize, eps: f32): void {
  if (mode == EPI_NONE) {
    store<f32>(at, v);
    return;
  }
  if (mode == EPI_ADD) {
    store<f32>(at, load<f32>(at) + v);
    return;
  }
  const op = load<f32>(at + delta);
  if (mode == EPI_DIVSUM) {
    store<f32>(at, stabDivScalar(op, load<f32>(at) + v, eps));
    return;
  }
  store<f32>(at, mode == EPI_DIV ? stabDivScalar(op, v, eps) : mode == EPI_MUL ? op * v : load<f32>(at) + op * v);
}

/**
 * A block of rows x cols computed values (row stride vStride floats) through the epilogue into out (row
 * stride outStride), the operand at out + delta.
 */
export function epilogueBlock(v: usize, vStride: i32, out: usize, outStride: i32, rows: i32, cols: i32, mode: i32, delta: usize, eps: f32): void {
  const e = f32x4.splat(eps);
  for (let r = 0; r < rows; r++) {
    const src = v + (<usize>(r * vStride) << 2), dst = out + (<usize>(r * outStride) << 2);
    let j = 0;
    for (; j + 4 <= cols; j += 4) put4(dst + (<usize>j << 2), v128.load(src + (<usize>j << 2)), mode, delta, e);
    for (; j < cols; j++) put1(dst + (<usize>j << 2), load<f32>(src + (<usize>j << 2)), mode, delta, eps);
  }
}
