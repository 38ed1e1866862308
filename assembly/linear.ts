// Fully connected layers. At the batch sizes of explanations these are matrix-vector products and bound
// by reading the weights, so each weight row is read once and used for every image of the batch.
import { madd } from './gemm';
import { shareBegin } from './thread';
import { tf, tfv } from './transform';

/**
 * y[n][o] = sum_i t(W[o][i]) x[n][i] + t'(b[o]); W is [nout][nin]; bias may be 0, tB < 0 leaves it out.
 * Share `part` of `parts`: the outputs o.
 */
export function linear_forward(x: usize, weight: usize, bias: usize, y: usize, batch: i32, nin: i32, nout: i32, tW: i32, gW: f32, tB: i32, gB: f32, relu: bool, top: f32, part: i32, parts: i32): void {
  const g = f32x4.splat(gW);
  const end16 = nin & ~15, vecEnd = nin & ~3;
  const o1 = shareBegin(nout, 1, part + 1, parts);
  for (let o = shareBegin(nout, 1, part, parts); o < o1; o++) {
    const row = weight + (<usize>o * <usize>nin << 2);
    const b = bias != 0 && tB >= 0 ? tf(tB, gB, load<f32>(bias + (<usize>o << 2))) : <f32>0;
    for (let n = 0; n < batch; n++) {
      const xn = x + (<usize>n * <usize>nin << 2);
      // Four independent sums: one alone waits on each add's latency and ran at half the memory's speed.
      let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
      let i = 0;
      for (; i < end16; i += 16) {
        const w = row + (<usize>i << 2), v = xn + (<usize>i << 2);
        a0 = madd(tfv(tW, g, v128.load(w)), v128.load(v), a0);
        a1 = madd(tfv(tW, g, v128.load(w, 16)), v128.load(v, 16), a1);
        a2 = madd(tfv(tW, g, v128.load(w, 32)), v128.load(v, 32), a2);
        a3 = madd(tfv(tW, g, v128.load(w, 48)), v128.load(v, 48), a3);
      }
      for (; i < vecEnd; i += 4) {
        const off = <usize>i << 2;
        a0 = madd(tfv(tW, g, v128.load(row + off)), v128.load(xn + off), a0);
      }
      const acc = f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3));
      let s = f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3);
      for (; i < nin; i++) s += tf(tW, gW, load<f32>(row + (<usize>i << 2))) * load<f32>(xn + (<usize>i << 2));
      s += b;
      store<f32>(y + (<usize>(n * nout + o) << 2), relu ? min<f32>(s < 0 ? 0 : s, top) : s);
    }
  }
}

/**
 * dx[n][i] = sum_o t(W[o][i]) s[n][o]; dx is overwritten. Share `part` of `parts`: the inputs i, in runs
 * of four (each dx element sums over o in the same order whatever the split).
 */
export function linear_transpose(s: usize, weight: usize, dx: usize, batch: i32, nin: i32, nout: i32, tW: i32, gW: f32, part: i32, parts: i32): void {
  const g = f32x4.splat(gW);
  const i0 = shareBegin(nin, 4, part, parts), i1 = shareBegin(nin, 4, part + 1, parts);
  if (i0 >= i1) return;
  const vecEnd = i0 + ((i1 - i0) & ~3);
  for (let n = 0; n < batch; n++) memory.fill(dx + (<usize>(n * nin + i0) << 2), 0, <usize>(i1 - i0) << 2);
  for (let o = 0; o < nout; o++) {
    const row = weight + (<usize>o * <usize>nin << 2);
    for (let n = 0; n < batch; n++) {
      const sv = load<f32>(s + (<usize>(n * nout + o) << 2));
      if (sv == 0) continue;
      const sp = f32x4.splat(sv);
      const dxn = dx + (<usize>n * <usize>nin << 2);
      let i = i0;
      for (; i < vecEnd; i += 4) {
        const off = <usize>i << 2;
        v128.store(dxn + off, f32x4.add(v128.load(dxn + off), f32x4.mul(sp, tfv(tW, g, v128.load(row + off)))));
      }
      for (; i < i1; i++) {
        const p = dxn + (<usize>i << 2);
        store<f32>(p, load<f32>(p) + sv * tf(tW, gW, load<f32>(row + (<usize>i << 2))));
      }
    }
  }
}
