// Softmax over each row (a transformer's attention scores) and its gradient, in float32: the row's
// maximum subtracted before exp, the sum accumulated four lanes at a time.
import { expv, lanesSum, loadTail, storeTail } from './vmath';

/** y = softmax of each of `rows` rows of n floats. */
export function softmax(x: usize, y: usize, rows: i32, n: i32): void {
  const whole = n & ~3;
  for (let r = 0; r < rows; r++) {
    const src = x + ((<usize>r * <usize>n) << 2), dst = y + ((<usize>r * <usize>n) << 2);
    let mv = f32x4.splat(-Infinity);
    for (let i = 0; i < whole; i += 4) mv = f32x4.max(mv, v128.load(src + (<usize>i << 2)));
    let m = max(max(f32x4.extract_lane(mv, 0), f32x4.extract_lane(mv, 1)), max(f32x4.extract_lane(mv, 2), f32x4.extract_lane(mv, 3)));
    for (let i = whole; i < n; i++) m = max(m, load<f32>(src + (<usize>i << 2)));
    const mx = f32x4.splat(m);
    let sv = f32x4.splat(0);
    for (let i = 0; i < whole; i += 4) {
      const e = expv(f32x4.sub(v128.load(src + (<usize>i << 2)), mx));
      v128.store(dst + (<usize>i << 2), e);
      sv = f32x4.add(sv, e);
    }
    let total = lanesSum(sv);
    if (whole < n) {
      const off = <usize>whole << 2;
      storeTail(dst + off, expv(f32x4.sub(loadTail(src + off, n - whole, 0), mx)), n - whole);
      for (let i = whole; i < n; i++) total += load<f32>(dst + (<usize>i << 2));
    }
    const inv = f32x4.splat(<f32>1 / total);
    for (let i = 0; i < whole; i += 4) v128.store(dst + (<usize>i << 2), f32x4.mul(v128.load(dst + (<usize>i << 2)), inv));
    for (let i = whole; i < n; i++) store<f32>(dst + (<usize>i << 2), load<f32>(dst + (<usize>i << 2)) * (<f32>1 / total));
  }
}

/** dx = s (dy - sum_j s_j dy_j) for each row, s the softmax's output. */
export function softmax_gradient(s: usize, dy: usize, dx: usize, rows: i32, n: i32): void {
  const whole = n & ~3;
  for (let r = 0; r < rows; r++) {
    const row = (<usize>r * <usize>n) << 2;
    let dv = f32x4.splat(0);
    for (let i = 0; i < whole; i += 4) {
      const off = row + (<usize>i << 2);
      dv = f32x4.add(dv, f32x4.mul(v128.load(s + off), v128.load(dy + off)));
    }
    let dot = lanesSum(dv);
    for (let i = whole; i < n; i++) dot += load<f32>(s + row + (<usize>i << 2)) * load<f32>(dy + row + (<usize>i << 2));
    const d = f32x4.splat(dot);
    for (let i = 0; i < whole; i += 4) {
      const off = row + (<usize>i << 2);
      v128.store(dx + off, f32x4.mul(v128.load(s + off), f32x4.sub(v128.load(dy + off), d)));
    }
    for (let i = whole; i < n; i++) {
      const off = row + (<usize>i << 2);
      store<f32>(dx + off, load<f32>(s + off) * (load<f32>(dy + off) - dot));
    }
  }
}
