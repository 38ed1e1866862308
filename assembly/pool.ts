// Pools. Max-pool saves each output's winner (flat input index within the batch) for the backward
// pass: the first maximum in row-major window order, as PyTorch and the reference engine.
import { shareBegin } from './thread';

/**
 * planes = batch * channels; this call computes the planes of share `part` of `parts`. Outputs whose
 * windows lie inside the row run four at a time (stride 1 or 2: a stride-2 row's taps are the even
 * lanes of two loads), the first maximum kept by a strict compare as in the scalar loop; the others,
 * at the borders, one at a time. ResNet's 3x3/2 pool over 64 x 112 x 112: 5.7 ms one at a time.
 */
export function maxpool_forward(x: usize, y: usize, winners: usize, planes: i32, h: i32, w: i32, ho: i32, wo: i32, kh: i32, kw: i32, sh: i32, sw: i32, pt: i32, pl: i32, part: i32, parts: i32): void {
  const p1 = shareBegin(planes, 1, part + 1, parts);
  // Output columns [c0, c1) whose four-lane groups read only within the row (stride 2 loads one more).
  const c0 = (pl + sw - 1) / sw;
  const c1 = sw <= 2 ? min(wo, (w - kw + pl - (sw - 1)) / sw + 1) : 0;
  for (let p = shareBegin(planes, 1, part, parts); p < p1; p++) {
    const base = p * h * w;
    for (let oh = 0; oh < ho; oh++) {
      const top = oh * sh - pt;
      const i0 = max(0, -top), i1 = min(kh, h - top);
      const out = (p * ho + oh) * wo;
      let ow = 0;
      if (i0 < i1 && c1 - c0 >= 4) {
        for (; ow < c0; ow++) maxpoolOne(x, y, winners, base, h, w, top, ow * sw - pl, kh, kw, out + ow);
        for (; ow + 4 <= c1; ow += 4) maxpoolFour(x, y, winners, base + (top + i0) * w + ow * sw - pl, w, i1 - i0, kw, sw, out + ow);
      }
      for (; ow < wo; ow++) maxpoolOne(x, y, winners, base, h, w, top, ow * sw - pl, kh, kw, out + ow);
    }
  }
}

/** One output: the window from (top, left), taps outside the plane skipped. */
@inline function maxpoolOne(x: usize, y: usize, winners: usize, base: i32, h: i32, w: i32, top: i32, left: i32, kh: i32, kw: i32, o: i32): void {
  let best: f32 = -Infinity;
  let arg = -1;
  for (let i = 0; i < kh; i++) {
    const ih = top + i;
    if (ih < 0 || ih >= h) continue;
    for (let j = 0; j < kw; j++) {
      const iw = left + j;
      if (iw < 0 || iw >= w) continue;
      const idx = base + ih * w + iw;
      const v = load<f32>(x + (<usize>idx << 2));
      if (v > best || arg < 0) {
        best = v;
        arg = idx;
      }
    }
  }
  store<f32>(y + (<usize>o << 2), best);
  store<i32>(winners + (<usize>o << 2), arg);
}

/** Four neighbouring outputs whose windows (rows from the flat index `first`, `rows` of them) lie inside the plane. */
@inline function maxpoolFour(x: usize, y: usize, winners: usize, first: i32, w: i32, rows: i32, kw: i32, sw: i32, o: i32): void {
  const lanes = sw == 1 ? i32x4(0, 1, 2, 3) : i32x4(0, 2, 4, 6);
  let best = f32x4.splat(0);
  let arg = i32x4.splat(0);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < kw; j++) {
      const idx = first + i * w + j;
      const at = x + (<usize>idx << 2);
      const v = sw == 1 ? v128.load(at) : v128.shuffle<f32>(v128.load(at), v128.load(at, 16), 0, 2, 4, 6);
      const where = i32x4.add(i32x4.splat(idx), lanes);
      if (i == 0 && j == 0) {
        best = v;
        arg = where;
      } else {
        const gt = f32x4.gt(v, best);
        best = v128.bitselect(v, best, gt);
        arg = v128.bitselect(where, arg, gt);
      }
    }
  }
  v128.store(y + (<usize>o << 2), best);
  v128.store(winners + (<usize>o << 2), arg);
}

/** dx = 0, then each output's value added at its winner. */
export function maxpool_route(dy: usize, winners: usize, dx: usize, nOut: i32, nIn: i32): void {
  memory.fill(dx, 0, <usize>nIn << 2);
  for (let o = 0; o < nOut; o++) {
    const p = dx + (<usize>load<i32>(winners + (<usize>o << 2)) << 2);
    store<f32>(p, load<f32>(p) + load<f32>(dy + (<usize>o << 2)));
  }
}

/**
 * Average pool (transpose = 0: forward x -> y; transpose = 1: y-gradient dy -> dx, dx overwritten).
 * countIncludePad: padded zeros count in the divisor, what lies beyond the padding does not (PyTorch).
 */
export function avgpool(src: usize, dst: usize, transpose: bool, planes: i32, h: i32, w: i32, ho: i32, wo: i32, kh: i32, kw: i32, sh: i32, sw: i32, pt: i32, pl: i32, pb: i32, pr: i32, countIncludePad: bool): void {
  if (transpose) memory.fill(dst, 0, <usize>(planes * h * w) << 2);
  for (let p = 0; p < planes; p++) {
    const base = p * h * w;
    for (let oh = 0; oh < ho; oh++) {
      const h0 = oh * sh - pt;
      const ih0 = max(h0, 0), ih1 = min(h0 + kh, h);
      for (let ow = 0; ow < wo; ow++) {
        const w0 = ow * sw - pl;
        const iw0 = max(w0, 0), iw1 = min(w0 + kw, w);
        const count = countIncludePad ? (min(h0 + kh, h + pb) - h0) * (min(w0 + kw, w + pr) - w0) : (ih1 - ih0) * (iw1 - iw0);
        const scale: f32 = 1 / <f32>count;
        const o = (p * ho + oh) * wo + ow;
        if (transpose) {
          const g = load<f32>(src + (<usize>o << 2)) * scale;
          for (let ih = ih0; ih < ih1; ih++) {
            for (let iw = iw0; iw < iw1; iw++) {
              const q = dst + (<usize>(base + ih * w + iw) << 2);
              store<f32>(q, load<f32>(q) + g);
            }
          }
        } else {
          let acc: f32 = 0;
          for (let ih = ih0; ih < ih1; ih++) for (let iw = iw0; iw < iw1; iw++) acc += load<f32>(src + (<usize>(base + ih * w + iw) << 2));
          store<f32>(dst + (<usize>o << 2), acc * scale);
        }
      }
    }
  }
}

export function gap_forward(x: usize, y: usize, planes: i32, hw: i32): void {
  for (let p = 0; p < planes; p++) {
    let acc: f32 = 0;
    const base = x + (<usize>(p * hw) << 2);
    for (let i = 0; i < hw; i++) acc += load<f32>(base + (<usize>i << 2));
    store<f32>(y + (<usize>p << 2), acc / <f32>hw);
  }
}

export function gap_transpose(dy: usize, dx: usize, planes: i32, hw: i32): void {
  for (let p = 0; p < planes; p++) {
    const g = load<f32>(dy + (<usize>p << 2)) / <f32>hw;
    const base = dx + (<usize>(p * hw) << 2);
    for (let i = 0; i < hw; i++) store<f32>(base + (<usize>i << 2), g);
  }
}
