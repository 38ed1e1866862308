// Depthwise convolution (groups = cin, each input channel feeding `cout / cin` outputs of its own) and
// its transpose. A GEMM per group would have one row and K = kh * kw: all packing, no arithmetic. Here
// each output row is a sum of kh * kw scaled input rows: an axpy per tap, four outputs a vector (stride 2
// picks the even lanes of two loads). The caller decides that a layer runs here (groups == cin).
import { put1, put4 } from './epilogue';
import { align16, G_BATCH, G_CIN, G_COUT, G_DH, G_DW, G_EPI, G_EPI_EPS, G_EPI_OPERAND, G_GAMMA_B, G_GAMMA_W, G_H, G_HO, G_KH, G_KW, G_PL, G_PT, G_RELU, G_SH, G_SW, G_TB, G_TW, G_W, G_WO, gf, gi } from './geometry';
import { tf } from './transform';

/** First output index o with 0 <= o * s + off, i.e. o >= ceil(-off / s). */
@inline function firstValid(off: i32, s: i32): i32 {
  return off >= 0 ? 0 : (-off + s - 1) / s;
}

/** One past the last output index o < limit with o * s + off < size. */
@inline function endValid(off: i32, s: i32, size: i32, limit: i32): i32 {
  if (size - 1 - off < 0) return 0;
  return min(limit, (size - 1 - off) / s + 1);
}

/** Scratch bytes depthwise_forward and depthwise_transpose need: one output row, or one input plane. */
export function depthwise_scratch(geom: usize): usize {
  return (<usize>max(gi(geom, G_WO), gi(geom, G_H) * gi(geom, G_W)) << 2) + 16;
}

/**
 * y = t(W) * x + t'(b) (ReLU) through the epilogue, for a batch, NCHW; weight [cout][1][kh][kw]; output
 * channel co reads input channel co / (cout / cin); bias may be 0.
 */
export function depthwise_forward(geom: usize, x: usize, weight: usize, bias: usize, y: usize, scratch: usize): void {
  const batch = gi(geom, G_BATCH), cin = gi(geom, G_CIN), h = gi(geom, G_H), w = gi(geom, G_W);
  const cout = gi(geom, G_COUT), ho = gi(geom, G_HO), wo = gi(geom, G_WO);
  const kh = gi(geom, G_KH), kw = gi(geom, G_KW), sh = gi(geom, G_SH), sw = gi(geom, G_SW);
  const pt = gi(geom, G_PT), pl = gi(geom, G_PL), dh = gi(geom, G_DH), dw = gi(geom, G_DW);
  const tW = gi(geom, G_TW), gW = gf(geom, G_GAMMA_W), tB = gi(geom, G_TB), gB = gf(geom, G_GAMMA_B);
  const relu = gi(geom, G_RELU) != 0;
  const mode = gi(geom, G_EPI), eps = gf(geom, G_EPI_EPS), epsv = f32x4.splat(eps);
  const delta = <usize>gi(geom, G_EPI_OPERAND) - y;
  const mult = cout / cin;
  const acc = align16(scratch);
  const zero = f32x4.splat(0);
  for (let n = 0; n < batch; n++) {
    for (let co = 0; co < cout; co++) {
      const plane = x + (<usize>((n * cin + co / mult) * h * w) << 2);
      const out = y + (<usize>((n * cout + co) * ho * wo) << 2);
      const b: f32 = bias != 0 && tB >= 0 ? tf(tB, gB, load<f32>(bias + (<usize>co << 2))) : 0;
      const taps = weight + (<usize>(co * kh * kw) << 2);
      for (let oh = 0; oh < ho; oh++) {
        const bv = f32x4.splat(b);
        let j = 0;
        for (; j + 4 <= wo; j += 4) v128.store(acc + (<usize>j << 2), bv);
        for (; j < wo; j++) store<f32>(acc + (<usize>j << 2), b);
        for (let i = 0; i < kh; i++) {
          const ih = oh * sh - pt + i * dh;
          if (ih < 0 || ih >= h) continue;
          const row = plane + (<usize>(ih * w) << 2);
          for (let jj = 0; jj < kw; jj++) {
            const wt = tf(tW, gW, load<f32>(taps + (<usize>(i * kw + jj) << 2)));
            const wv = f32x4.splat(wt);
            const off = jj * dw - pl;
            const lo = firstValid(off, sw), hi = endValid(off, sw, w, wo);
            let o = lo;
            if (sw == 1) {
              for (; o + 4 <= hi; o += 4) {
                const a = acc + (<usize>o << 2);
                v128.store(a, f32x4.add(v128.load(a), f32x4.mul(wv, v128.load(row + (<usize>(o + off) << 2)))));
              }
            } else if (sw == 2) {
              // Inputs 2o + off .. 2o + off + 7: the even lanes of two loads.
              for (; o + 4 <= hi && 2 * o + off + 8 <= w; o += 4) {
                const src = row + (<usize>(2 * o + off) << 2);
                const even = v128.shuffle<f32>(v128.load(src), v128.load(src, 16), 0, 2, 4, 6);
                const a = acc + (<usize>o << 2);
                v128.store(a, f32x4.add(v128.load(a), f32x4.mul(wv, even)));
              }
            }
            for (; o < hi; o++) {
              const a = acc + (<usize>o << 2);
              store<f32>(a, load<f32>(a) + wt * load<f32>(row + (<usize>(o * sw + off) << 2)));
            }
          }
        }
        const dst = out + (<usize>(oh * wo) << 2);
        j = 0;
        for (; j + 4 <= wo; j += 4) {
          let v = v128.load(acc + (<usize>j << 2));
          if (relu) v = f32x4.pmax(v, zero);
          put4(dst + (<usize>j << 2), v, mode, delta, epsv);
        }
        for (; j < wo; j++) {
          let v = load<f32>(acc + (<usize>j << 2));
          if (relu) v = max<f32>(v, 0);
          put1(dst + (<usize>j << 2), v, mode, delta, eps);
        }
      }
    }
  }
}

/**
 * dx = t(W)^T dy through the epilogue: each input plane collects from its `cout / cin` output channels
 * in the scratch plane, then goes through the epilogue once (so `mac` adds the finished value).
 */
export function depthwise_transpose(geom: usize, dy: usize, weight: usize, dx: usize, scratch: usize): void {
  const batch = gi(geom, G_BATCH), cin = gi(geom, G_CIN), h = gi(geom, G_H), w = gi(geom, G_W);
  const cout = gi(geom, G_COUT), ho = gi(geom, G_HO), wo = gi(geom, G_WO);
  const kh = gi(geom, G_KH), kw = gi(geom, G_KW), sh = gi(geom, G_SH), sw = gi(geom, G_SW);
  const pt = gi(geom, G_PT), pl = gi(geom, G_PL), dh = gi(geom, G_DH), dw = gi(geom, G_DW);
  const tW = gi(geom, G_TW), gW = gf(geom, G_GAMMA_W);
  const mode = gi(geom, G_EPI), eps = gf(geom, G_EPI_EPS), epsv = f32x4.splat(eps);
  const delta = <usize>gi(geom, G_EPI_OPERAND) - dx;
  const mult = cout / cin;
  const acc = align16(scratch);
  const hw = h * w;
  for (let n = 0; n < batch; n++) {
    for (let ci = 0; ci < cin; ci++) {
      memory.fill(acc, 0, <usize>hw << 2);
      for (let m = 0; m < mult; m++) {
        const co = ci * mult + m;
        const plane = dy + (<usize>((n * cout + co) * ho * wo) << 2);
        const taps = weight + (<usize>(co * kh * kw) << 2);
        for (let oh = 0; oh < ho; oh++) {
          const src = plane + (<usize>(oh * wo) << 2);
          for (let i = 0; i < kh; i++) {
            const ih = oh * sh - pt + i * dh;
            if (ih < 0 || ih >= h) continue;
            const row = acc + (<usize>(ih * w) << 2);
            for (let jj = 0; jj < kw; jj++) {
              const wt = tf(tW, gW, load<f32>(taps + (<usize>(i * kw + jj) << 2)));
              const wv = f32x4.splat(wt);
              const off = jj * dw - pl;
              const lo = firstValid(off, sw), hi = endValid(off, sw, w, wo);
              let o = lo;
              if (sw == 1) {
                for (; o + 4 <= hi; o += 4) {
                  const a = row + (<usize>(o + off) << 2);
                  v128.store(a, f32x4.add(v128.load(a), f32x4.mul(wv, v128.load(src + (<usize>o << 2)))));
                }
              }
              for (; o < hi; o++) {
                const a = row + (<usize>(o * sw + off) << 2);
                store<f32>(a, load<f32>(a) + wt * load<f32>(src + (<usize>o << 2)));
              }
            }
          }
        }
      }
      const out = dx + (<usize>((n * cin + ci) * hw) << 2);
      let j = 0;
      for (; j + 4 <= hw; j += 4) put4(out + (<usize>j << 2), v128.load(acc + (<usize>j << 2)), mode, delta, epsv);
      for (; j < hw; j++) put1(out + (<usize>j << 2), load<f32>(acc + (<usize>j << 2)), mode, delta, eps);
    }
  }
}
