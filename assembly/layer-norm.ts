// LayerNorm over each row of d floats (a transformer's tokens) and its gradients, in float32: the mean
// and the biased variance in two passes (as PyTorch's), sums four lanes at a time.
import { lanesSum } from './vmath';

/**
 * The mean of the row's n floats at p, summed as differences from its first: a constant row's mean is
 * then its value exactly, and its output 0 (a float32 sum's rounding, squared, outweighed a small
 * epsilon: a row of 768 values of 0.3 with epsilon 1e-12 gave 0.45 everywhere).
 */
@inline function rowMean(p: usize, n: i32): f32 {
  const whole = n & ~3;
  const first = load<f32>(p);
  const f = f32x4.splat(first);
  let v = f32x4.splat(0);
  for (let i = 0; i < whole; i += 4) v = f32x4.add(v, f32x4.sub(v128.load(p + (<usize>i << 2)), f));
  let s = lanesSum(v);
  for (let i = whole; i < n; i++) s += load<f32>(p + (<usize>i << 2)) - first;
  return first + s / <f32>n;
}

/** 1 / sqrt(var + eps) of the row at p, given its mean. */
@inline function inverseDeviation(p: usize, d: i32, mean: f32, eps: f32): f32 {
  const whole = d & ~3;
  const m = f32x4.splat(mean);
  let v = f32x4.splat(0);
  for (let i = 0; i < whole; i += 4) {
    const c = f32x4.sub(v128.load(p + (<usize>i << 2)), m);
    v = f32x4.add(v, f32x4.mul(c, c));
  }
  let s = lanesSum(v);
  for (let i = whole; i < d; i++) {
    const c = load<f32>(p + (<usize>i << 2)) - mean;
    s += c * c;
  }
  return 1 / Mathf.sqrt(s / <f32>d + eps);
}

/** y = (x - mean) / sqrt(var + eps) * weight + bias, per row; bias 0: none. */
export function layer_norm(x: usize, weight: usize, bias: usize, y: usize, rows: i32, d: i32, eps: f32): void {
  const whole = d & ~3;
  for (let r = 0; r < rows; r++) {
    const row = (<usize>r * <usize>d) << 2;
    const mean = rowMean(x + row, d);
    const inv = inverseDeviation(x + row, d, mean, eps);
    const m = f32x4.splat(mean), iv = f32x4.splat(inv);
    for (let i = 0; i < whole; i += 4) {
      const off = <usize>i << 2;
      const u = f32x4.mul(f32x4.sub(v128.load(x + row + off), m), iv);
      const w = f32x4.mul(u, v128.load(weight + off));
      v128.store(y + row + off, bias ? f32x4.add(w, v128.load(bias + off)) : w);
    }
    for (let i = whole; i < d; i++) {
      const off = <usize>i << 2;
      const w = (load<f32>(x + row + off) - mean) * inv * load<f32>(weight + off);
      store<f32>(y + row + off, bias ? w + load<f32>(bias + off) : w);
    }
  }
}

/**
 * dx = inv (g' - mean(g') - u mean(g' u)), g' = dy weight, u = (x - mean) inv; `held`: the standard
 * deviation held constant (LRP's LayerNorm rule), dx = inv (g' - mean(g')).
 */
export function layer_norm_gradient(x: usize, weight: usize, dy: usize, dx: usize, rows: i32, d: i32, eps: f32, held: bool): void {
  const whole = d & ~3;
  for (let r = 0; r < rows; r++) {
    const row = (<usize>r * <usize>d) << 2;
    const mean = rowMean(x + row, d);
    const inv = inverseDeviation(x + row, d, mean, eps);
    const m = f32x4.splat(mean), iv = f32x4.splat(inv);
    let gv = f32x4.splat(0), guv = f32x4.splat(0);
    for (let i = 0; i < whole; i += 4) {
      const off = <usize>i << 2;
      const g = f32x4.mul(v128.load(dy + row + off), v128.load(weight + off));
      gv = f32x4.add(gv, g);
      guv = f32x4.add(guv, f32x4.mul(g, f32x4.mul(f32x4.sub(v128.load(x + row + off), m), iv)));
    }
    let sg = lanesSum(gv), sgu = lanesSum(guv);
    for (let i = whole; i < d; i++) {
      const off = <usize>i << 2;
      const g = load<f32>(dy + row + off) * load<f32>(weight + off);
      sg += g;
      sgu += g * (load<f32>(x + row + off) - mean) * inv;
    }
    const meanG = sg / <f32>d, meanGU = held ? <f32>0 : sgu / <f32>d;
    const mg = f32x4.splat(meanG), mgu = f32x4.splat(meanGU);
    for (let i = 0; i < whole; i += 4) {
      const off = <usize>i << 2;
      const g = f32x4.mul(v128.load(dy + row + off), v128.load(weight + off));
      const u = f32x4.mul(f32x4.sub(v128.load(x + row + off), m), iv);
      v128.store(dx + row + off, f32x4.mul(iv, f32x4.sub(f32x4.sub(g, mg), f32x4.mul(u, mgu))));
    }
    for (let i = whole; i < d; i++) {
      const off = <usize>i << 2;
      const g = load<f32>(dy + row + off) * load<f32>(weight + off);
      const u = (load<f32>(x + row + off) - mean) * inv;
      store<f32>(dx + row + off, inv * (g - meanG - u * meanGU));
    }
  }
}
