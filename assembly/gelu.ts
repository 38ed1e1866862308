// GELU and its derivative as PyTorch's nn.GELU defines them: x Phi(x) with Phi by erf, or the tanh form
// 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))); four lanes at a time, the tail through the same code.
import { erfv, expv, loadTail, storeTail } from './vmath';

const K: f32 = 0.7978845608028654; // sqrt(2 / pi)
const C: f32 = 0.044715;

/** Phi(x) = (1 + erf(x / sqrt 2)) / 2. */
@inline function phi(x: v128): v128 {
  return f32x4.mul(f32x4.splat(0.5), f32x4.add(f32x4.splat(1), erfv(f32x4.mul(x, f32x4.splat(0.7071067811865476)))));
}

/** The tanh form's inner argument u = K (x + C x^3). */
@inline function inner(x: v128): v128 {
  return f32x4.mul(f32x4.splat(K), f32x4.add(x, f32x4.mul(f32x4.splat(C), f32x4.mul(x, f32x4.mul(x, x)))));
}

/** e^(-2|u|), from which tanh and sech^2 follow without overflow or cancellation. */
@inline function decay(u: v128): v128 {
  return expv(f32x4.mul(f32x4.splat(-2), f32x4.abs(u)));
}

/** tanh u = sign(u) (1 - e) / (1 + e), e = e^(-2|u|). */
@inline function tanhOf(u: v128, e: v128): v128 {
  const t = f32x4.div(f32x4.sub(f32x4.splat(1), e), f32x4.add(f32x4.splat(1), e));
  return v128.or(t, v128.and(u, i32x4.splat(0x80000000)));
}

@inline function value(x: v128, tanh: bool): v128 {
  if (!tanh) return f32x4.mul(x, phi(x));
  const u = inner(x);
  return f32x4.mul(f32x4.mul(f32x4.splat(0.5), x), f32x4.add(f32x4.splat(1), tanhOf(u, decay(u))));
}

/**
 * d GELU / dx: Phi(x) + x e^(-x^2/2) / sqrt(2 pi); for the tanh form (1 + t) / 2 + x sech^2(u) u' / 2,
 * with sech^2 u = 4e / (1 + e)^2 (not 1 - t^2, which rounds to 0 once t does).
 */
@inline function slope(x: v128, tanh: bool): v128 {
  if (!tanh) {
    const density = f32x4.mul(f32x4.splat(0.3989422804014327), expv(f32x4.mul(f32x4.splat(-0.5), f32x4.mul(x, x))));
    return f32x4.add(phi(x), f32x4.mul(x, density));
  }
  const u = inner(x);
  const e = decay(u);
  const onePlus = f32x4.add(f32x4.splat(1), e);
  const sech2 = f32x4.div(f32x4.mul(f32x4.splat(4), e), f32x4.mul(onePlus, onePlus));
  const du = f32x4.mul(f32x4.splat(K), f32x4.add(f32x4.splat(1), f32x4.mul(f32x4.splat(3 * C), f32x4.mul(x, x))));
  const half = f32x4.splat(0.5);
  return f32x4.add(f32x4.mul(half, f32x4.add(f32x4.splat(1), tanhOf(u, e))), f32x4.mul(f32x4.mul(half, x), f32x4.mul(sech2, du)));
}

/** y = GELU(x), n floats. */
export function gelu(x: usize, y: usize, n: i32, tanh: bool): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const off = <usize>i << 2;
    v128.store(y + off, value(v128.load(x + off), tanh));
  }
  if (i < n) {
    const off = <usize>i << 2;
    storeTail(y + off, value(loadTail(x + off, n - i, 0), tanh), n - i);
  }
}

/** dx = GELU'(x) dy, n floats. */
export function gelu_gradient(x: usize, dy: usize, dx: usize, n: i32, tanh: bool): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const off = <usize>i << 2;
    v128.store(dx + off, f32x4.mul(slope(v128.load(x + off), tanh), v128.load(dy + off)));
  }
  if (i < n) {
    const off = <usize>i << 2;
    const count = n - i;
    storeTail(dx + off, f32x4.mul(slope(loadTail(x + off, count, 0), tanh), loadTail(dy + off, count, 0)), count);
  }
}
