// Depthwise convolution (groups = cin, each input channel feeding `cout / cin` outputs of its own) and
// its transpose. A GEMM per group would have one row and K = kh * kw: all packing, no arithmetic. Here
// each output row is a sum of kh * kw scaled input rows: an axpy per tap, four outputs a vector (stride 2
// picks the even lanes of two loads). The caller decides that a layer runs here (groups == cin).
import { put1, put4 } from './epilogue';
import { reluTo } from './gemm';
import { align16, GEOM_SLOTS, G_BATCH, G_CIN, G_COUT, G_DH, G_DW, G_EPI, G_EPI_EPS, G_EPI_OPERAND, G_GAMMA_B, G_GAMMA_W, G_H, G_HO, G_KH, G_KW, G_PL, G_PT, G_RELU, G_RELU_TOP, G_SH, G_SW, G_TB, G_TW, G_W, G_WO, gf, gi } from './geometry';
import { tf } from './transform';
import { own, shareBegin, COPY_ALIGN } from './thread';
import { MAX_THREADS } from './constants.generated';

/** First output index o with 0 <= o * s + off, i.e. o >= ceil(-off / s). */
@inline function firstValid(off: i32, s: i32): i32 {
  return off >= 0 ? 0 : (-off + s - 1) / s;
}

/** One past the last output index o < limit with o * s + off < size. */
@inline function endValid(off: i32, s: i32, size: i32, limit: i32): i32 {
  if (size - 1 - off < 0) return 0;
  return min(limit, (size - 1 - off) / s + 1);
}


/** Floats of the zero-padded input plane a forward of these output sizes reads: rows, then columns (8 spare for vector loads). */
@inline function paddedRows(ho: i32, sh: i32, kh: i32, dh: i32): i32 {
  return (ho - 1) * sh + (kh - 1) * dh + 1;
}
@inline function paddedCols(wo: i32, sw: i32, kw: i32, dw: i32): i32 {
  return (wo - 1) * sw + (kw - 1) * dw + 1 + 8;
}

/**
 * Scratch bytes depthwise_forward and depthwise_transpose need: a zero-padded input plane (for the
 * transpose's gather too, whose input is dy and output dx), a channel's taps, the flipped taps.
 */
export function depthwise_scratch(geom: usize): usize {
  const h = gi(geom, G_H), w = gi(geom, G_W), ho = gi(geom, G_HO), wo = gi(geom, G_WO);
  const kh = gi(geom, G_KH), kw = gi(geom, G_KW), sh = gi(geom, G_SH), sw = gi(geom, G_SW), dh = gi(geom, G_DH), dw = gi(geom, G_DW);
  const forward = paddedRows(ho, sh, kh, dh) * paddedCols(wo, sw, kw, dw);
  const gather = paddedRows(h, 1, kh, dh) * paddedCols(w, 1, kw, dw);
  const plane = max(forward, max(gather, h * w));
  return (<usize>(plane + (gi(geom, G_COUT) + 1) * kh * kw) << 2) + upsampledBytes(geom) + 80;
}

/** Bytes of dy with zeros between its values (sh - 1 rows, sw - 1 columns), for a strided transpose's gather. */
function upsampledBytes(geom: usize): usize {
  const sh = gi(geom, G_SH), sw = gi(geom, G_SW);
  if (sh == 1 && sw == 1) return 0;
  const rows = (gi(geom, G_HO) - 1) * sh + 1, cols = (gi(geom, G_WO) - 1) * sw + 1;
  return <usize>(gi(geom, G_BATCH) * gi(geom, G_COUT) * rows * cols) << 2;
}

/** The geometry of a stride-1 transpose run as a forward depthwise convolution. */
const tgeomAll = memory.data(((GEOM_SLOTS * 4 + COPY_ALIGN - 1) & ~(COPY_ALIGN - 1)) * MAX_THREADS, COPY_ALIGN);
/** This thread's copy (assembly/thread.ts). */
@inline function tgeom(): usize {
  return own(tgeomAll, GEOM_SLOTS * 4);
}

/**
 * y = t(W) * x + t'(b) (ReLU) through the epilogue, for a batch, NCHW; weight [cout][1][kh][kw]; output
 * channel co reads input channel co / (cout / cin); bias may be 0. Each input plane is first copied
 * into scratch with its zero padding (and 8 spare columns), so every output is computed without a
 * bounds check: four outputs a vector (eight at stride 1), each tap's term in registers, stored once.
 * Measured on MobileNetV2's depthwise layers: an axpy per tap into an accumulator row ran at 1.7
 * GMAC/s; register blocking with scalar borders at 0.2 (7x7 maps) to 2.2 GMAC/s, the borders taking
 * half the time.
 */
export function depthwise_forward(geom: usize, x: usize, weight: usize, bias: usize, y: usize, scratch: usize, part: i32, parts: i32): void {
  const cout = gi(geom, G_COUT);
  forwardChannels(geom, x, weight, bias, y, scratch + <usize>part * depthwise_scratch(geom), shareBegin(cout, 1, part, parts), shareBegin(cout, 1, part + 1, parts));
}

/** depthwise_forward of output channels [c0, c1): a part's share (threads split the channels). */
function forwardChannels(geom: usize, x: usize, weight: usize, bias: usize, y: usize, scratch: usize, c0: i32, c1: i32): void {
  const batch = gi(geom, G_BATCH), cin = gi(geom, G_CIN), h = gi(geom, G_H), w = gi(geom, G_W);
  const cout = gi(geom, G_COUT), ho = gi(geom, G_HO), wo = gi(geom, G_WO);
  const kh = gi(geom, G_KH), kw = gi(geom, G_KW), sh = gi(geom, G_SH), sw = gi(geom, G_SW);
  const pt = gi(geom, G_PT), pl = gi(geom, G_PL), dh = gi(geom, G_DH), dw = gi(geom, G_DW);
  const tW = gi(geom, G_TW), gW = gf(geom, G_GAMMA_W), tB = gi(geom, G_TB), gB = gf(geom, G_GAMMA_B);
  const relu = gi(geom, G_RELU) != 0, top = gf(geom, G_RELU_TOP), topv = f32x4.splat(top);
  const mode = gi(geom, G_EPI), eps = gf(geom, G_EPI_EPS), epsv = f32x4.splat(eps);
  const delta = <usize>gi(geom, G_EPI_OPERAND) - y;
  const mult = cout / cin;
  const rows = paddedRows(ho, sh, kh, dh), cols = paddedCols(wo, sw, kw, dw);
  const padded = align16(scratch);
  const taps = align16(padded + (<usize>(rows * cols) << 2));
  const zero = f32x4.splat(0);
  const span = sw == 1 ? 8 : 4;
  const t3 = kh == 3 && kw == 3 && dh == 1 && dw == 1;
  for (let n = 0; n < batch; n++) {
    let ready = -1;
    for (let co = c0; co < c1; co++) {
      const ci = co / mult;
      if (ci != ready) {
        padPlane(x + (<usize>((n * cin + ci) * h * w) << 2), padded, h, w, rows, cols, pt, pl);
        ready = ci;
      }
      const out = y + (<usize>((n * cout + co) * ho * wo) << 2);
      const b: f32 = bias != 0 && tB >= 0 ? tf(tB, gB, load<f32>(bias + (<usize>co << 2))) : 0;
      const src = weight + (<usize>(co * kh * kw) << 2);
      for (let t = 0; t < kh * kw; t++) store<f32>(taps + (<usize>t << 2), tf(tW, gW, load<f32>(src + (<usize>t << 2))));
      const bv = f32x4.splat(b);
      // A 3x3 layer's nine taps, splatted once a channel (read only by its unrolled path).
      const w00 = t3 ? v128.load32_splat(taps) : zero, w01 = t3 ? v128.load32_splat(taps, 4) : zero, w02 = t3 ? v128.load32_splat(taps, 8) : zero;
      const w10 = t3 ? v128.load32_splat(taps, 12) : zero, w11 = t3 ? v128.load32_splat(taps, 16) : zero, w12 = t3 ? v128.load32_splat(taps, 20) : zero;
      const w20 = t3 ? v128.load32_splat(taps, 24) : zero, w21 = t3 ? v128.load32_splat(taps, 28) : zero, w22 = t3 ? v128.load32_splat(taps, 32) : zero;
      for (let oh = 0; oh < ho; oh++) {
        const dst = out + (<usize>(oh * wo) << 2);
        const r0 = padded + (<usize>(oh * sh * cols) << 2);
        let o = 0;
        if (t3 && sw == 1) {
          const r1 = r0 + (<usize>cols << 2), r2 = r1 + (<usize>cols << 2);
          for (; o + 8 <= wo; o += 8) {
            const p0 = r0 + (<usize>o << 2), p1 = r1 + (<usize>o << 2), p2 = r2 + (<usize>o << 2);
            let a0 = f32x4.add(bv, f32x4.mul(w00, v128.load(p0)));
            let a1 = f32x4.add(bv, f32x4.mul(w00, v128.load(p0, 16)));
            a0 = f32x4.add(a0, f32x4.mul(w01, v128.load(p0, 4)));
            a1 = f32x4.add(a1, f32x4.mul(w01, v128.load(p0, 20)));
            a0 = f32x4.add(a0, f32x4.mul(w02, v128.load(p0, 8)));
            a1 = f32x4.add(a1, f32x4.mul(w02, v128.load(p0, 24)));
            a0 = f32x4.add(a0, f32x4.mul(w10, v128.load(p1)));
            a1 = f32x4.add(a1, f32x4.mul(w10, v128.load(p1, 16)));
            a0 = f32x4.add(a0, f32x4.mul(w11, v128.load(p1, 4)));
            a1 = f32x4.add(a1, f32x4.mul(w11, v128.load(p1, 20)));
            a0 = f32x4.add(a0, f32x4.mul(w12, v128.load(p1, 8)));
            a1 = f32x4.add(a1, f32x4.mul(w12, v128.load(p1, 24)));
            a0 = f32x4.add(a0, f32x4.mul(w20, v128.load(p2)));
            a1 = f32x4.add(a1, f32x4.mul(w20, v128.load(p2, 16)));
            a0 = f32x4.add(a0, f32x4.mul(w21, v128.load(p2, 4)));
            a1 = f32x4.add(a1, f32x4.mul(w21, v128.load(p2, 20)));
            a0 = f32x4.add(a0, f32x4.mul(w22, v128.load(p2, 8)));
            a1 = f32x4.add(a1, f32x4.mul(w22, v128.load(p2, 24)));
            if (relu) {
              a0 = reluTo(a0, zero, topv);
              a1 = reluTo(a1, zero, topv);
            }
            put4(dst + (<usize>o << 2), a0, mode, delta, epsv);
            put4(dst + (<usize>(o + 4) << 2), a1, mode, delta, epsv);
          }
          // The rest four at a time, the last vector partly (the padded row has room for its loads).
          for (; o < wo; o += 4) {
            const p0 = r0 + (<usize>o << 2), p1 = r1 + (<usize>o << 2), p2 = r2 + (<usize>o << 2);
            let a0 = f32x4.add(bv, f32x4.mul(w00, v128.load(p0)));
            a0 = f32x4.add(a0, f32x4.mul(w01, v128.load(p0, 4)));
            a0 = f32x4.add(a0, f32x4.mul(w02, v128.load(p0, 8)));
            a0 = f32x4.add(a0, f32x4.mul(w10, v128.load(p1)));
            a0 = f32x4.add(a0, f32x4.mul(w11, v128.load(p1, 4)));
            a0 = f32x4.add(a0, f32x4.mul(w12, v128.load(p1, 8)));
            a0 = f32x4.add(a0, f32x4.mul(w20, v128.load(p2)));
            a0 = f32x4.add(a0, f32x4.mul(w21, v128.load(p2, 4)));
            a0 = f32x4.add(a0, f32x4.mul(w22, v128.load(p2, 8)));
            if (relu) a0 = reluTo(a0, zero, topv);
            putSome(dst, o, wo, a0, mode, delta, epsv, eps);
          }
        } else if (t3 && sw == 2) {
          const r1 = r0 + (<usize>cols << 2), r2 = r1 + (<usize>cols << 2);
          for (; o < wo; o += 4) {
            // Inputs 2o + j, 2o + j + 2, ...: the even lanes of [p, p + 8) for tap 0, the odd ones for
            // tap 1, the even ones of [p + 2, p + 10) for tap 2.
            const p0 = r0 + (<usize>(2 * o) << 2), p1 = r1 + (<usize>(2 * o) << 2), p2 = r2 + (<usize>(2 * o) << 2);
            let l = v128.load(p0), r = v128.load(p0, 16);
            let a0 = f32x4.add(bv, f32x4.mul(w00, v128.shuffle<f32>(l, r, 0, 2, 4, 6)));
            a0 = f32x4.add(a0, f32x4.mul(w01, v128.shuffle<f32>(l, r, 1, 3, 5, 7)));
            a0 = f32x4.add(a0, f32x4.mul(w02, v128.shuffle<f32>(v128.load(p0, 8), v128.load(p0, 24), 0, 2, 4, 6)));
            l = v128.load(p1);
            r = v128.load(p1, 16);
            a0 = f32x4.add(a0, f32x4.mul(w10, v128.shuffle<f32>(l, r, 0, 2, 4, 6)));
            a0 = f32x4.add(a0, f32x4.mul(w11, v128.shuffle<f32>(l, r, 1, 3, 5, 7)));
            a0 = f32x4.add(a0, f32x4.mul(w12, v128.shuffle<f32>(v128.load(p1, 8), v128.load(p1, 24), 0, 2, 4, 6)));
            l = v128.load(p2);
            r = v128.load(p2, 16);
            a0 = f32x4.add(a0, f32x4.mul(w20, v128.shuffle<f32>(l, r, 0, 2, 4, 6)));
            a0 = f32x4.add(a0, f32x4.mul(w21, v128.shuffle<f32>(l, r, 1, 3, 5, 7)));
            a0 = f32x4.add(a0, f32x4.mul(w22, v128.shuffle<f32>(v128.load(p2, 8), v128.load(p2, 24), 0, 2, 4, 6)));
            if (relu) a0 = reluTo(a0, zero, topv);
            putSome(dst, o, wo, a0, mode, delta, epsv, eps);
          }
        } else if (sw <= 2) {
          for (; o + span <= wo; o += span) {
            let a0 = bv, a1 = bv;
            for (let i = 0; i < kh; i++) {
              const row = r0 + (<usize>(i * dh * cols + o * sw) << 2);
              for (let j = 0; j < kw; j++) {
                const wv = v128.load32_splat(taps + (<usize>(i * kw + j) << 2));
                const at = row + (<usize>(j * dw) << 2);
                if (sw == 1) {
                  a0 = f32x4.add(a0, f32x4.mul(wv, v128.load(at)));
                  a1 = f32x4.add(a1, f32x4.mul(wv, v128.load(at, 16)));
                } else {
                  a0 = f32x4.add(a0, f32x4.mul(wv, v128.shuffle<f32>(v128.load(at), v128.load(at, 16), 0, 2, 4, 6)));
                }
              }
            }
            if (relu) {
              a0 = reluTo(a0, zero, topv);
              a1 = reluTo(a1, zero, topv);
            }
            put4(dst + (<usize>o << 2), a0, mode, delta, epsv);
            if (sw == 1) put4(dst + (<usize>(o + 4) << 2), a1, mode, delta, epsv);
          }
        }
        for (; o < wo; o++) {
          let acc = b;
          for (let i = 0; i < kh; i++) {
            const row = r0 + (<usize>(i * dh * cols + o * sw) << 2);
            for (let j = 0; j < kw; j++) acc += load<f32>(taps + (<usize>(i * kw + j) << 2)) * load<f32>(row + (<usize>(j * dw) << 2));
          }
          if (relu) acc = min<f32>(max<f32>(acc, 0), top);
          put1(dst + (<usize>o << 2), acc, mode, delta, eps);
        }
      }
    }
  }
}

/** Four outputs at o, or as many as remain before wo. */
@inline function putSome(dst: usize, o: i32, wo: i32, v: v128, mode: i32, delta: usize, epsv: v128, eps: f32): void {
  if (o + 4 <= wo) {
    put4(dst + (<usize>o << 2), v, mode, delta, epsv);
    return;
  }
  put1(dst + (<usize>o << 2), f32x4.extract_lane(v, 0), mode, delta, eps);
  if (o + 1 < wo) put1(dst + (<usize>(o + 1) << 2), f32x4.extract_lane(v, 1), mode, delta, eps);
  if (o + 2 < wo) put1(dst + (<usize>(o + 2) << 2), f32x4.extract_lane(v, 2), mode, delta, eps);
}

/** The input plane into `rows` x `cols` with pt rows and pl columns of zeros before it, zeros after. */
function padPlane(src: usize, dst: usize, h: i32, w: i32, rows: i32, cols: i32, pt: i32, pl: i32): void {
  for (let r = 0; r < rows; r++) {
    const d = dst + (<usize>(r * cols) << 2);
    const ih = r - pt;
    if (ih < 0 || ih >= h) {
      memory.fill(d, 0, <usize>cols << 2);
      continue;
    }
    // Columns c hold x[ih][c - pl]: zeros before column pl, the row (as much as fits), zeros after.
    const c0 = min(max(pl, 0), cols);
    const s0 = max(-pl, 0);
    const n = max(0, min(w - s0, cols - c0));
    memory.fill(d, 0, <usize>c0 << 2);
    memory.copy(d + (<usize>c0 << 2), src + (<usize>(ih * w + s0) << 2), <usize>n << 2);
    memory.fill(d + (<usize>(c0 + n) << 2), 0, <usize>(cols - c0 - n) << 2);
  }
}

/**
 * dx = t(W)^T dy through the epilogue: each input plane collects from its `cout / cin` output channels
 * in the scratch plane, then goes through the epilogue once (so `mac` adds the finished value).
 */
export function depthwise_transpose(geom: usize, dy: usize, weight: usize, dx: usize, scratch: usize, part: i32, parts: i32): void {
  scratch += <usize>part * depthwise_scratch(geom);
  const c0 = shareBegin(gi(geom, G_CIN), 1, part, parts), c1 = shareBegin(gi(geom, G_CIN), 1, part + 1, parts);
  const batch = gi(geom, G_BATCH), cin = gi(geom, G_CIN), h = gi(geom, G_H), w = gi(geom, G_W);
  const cout = gi(geom, G_COUT), ho = gi(geom, G_HO), wo = gi(geom, G_WO);
  const kh = gi(geom, G_KH), kw = gi(geom, G_KW), sh = gi(geom, G_SH), sw = gi(geom, G_SW);
  const pt = gi(geom, G_PT), pl = gi(geom, G_PL), dh = gi(geom, G_DH), dw = gi(geom, G_DW);
  const tW = gi(geom, G_TW), gW = gf(geom, G_GAMMA_W);
  const mode = gi(geom, G_EPI), eps = gf(geom, G_EPI_EPS), epsv = f32x4.splat(eps);
  const delta = <usize>gi(geom, G_EPI_OPERAND) - dx;
  const mult = cout / cin;
  if (mult == 1) {
    // The transpose is a forward depthwise convolution of dy with the taps flipped and the padding
    // mirrored, (k - 1) d - p: it gathers, with the forward's register-blocked vectors. At stride s,
    // of dy with s - 1 zeros between its values (4x the multiply-adds at stride 2, measured still 3x
    // faster than scattering one value at a time).
    const flipped = align16(scratch);
    for (let c = c0; c < c1; c++) {
      for (let i = 0; i < kh; i++) {
        for (let j = 0; j < kw; j++) {
          store<f32>(flipped + (<usize>((c * kh + kh - 1 - i) * kw + kw - 1 - j) << 2), load<f32>(weight + (<usize>((c * kh + i) * kw + j) << 2)));
        }
      }
    }
    let src = dy, uh = ho, uw = wo;
    const rest = align16(flipped + (<usize>(cout * kh * kw) << 2));
    let after = rest;
    if (sh != 1 || sw != 1) {
      uh = (ho - 1) * sh + 1;
      uw = (wo - 1) * sw + 1;
      src = rest;
      for (let p = 0; p < batch * cout; p++) {
        if (p % cout < c0 || p % cout >= c1) continue;
        memory.fill(src + (<usize>(p * uh * uw) << 2), 0, <usize>(uh * uw) << 2);
        for (let oh = 0; oh < ho; oh++) {
          const from = dy + (<usize>((p * ho + oh) * wo) << 2);
          const to = src + (<usize>((p * uh + oh * sh) * uw) << 2);
          for (let ow = 0; ow < wo; ow++) store<f32>(to + (<usize>(ow * sw) << 2), load<f32>(from + (<usize>ow << 2)));
        }
      }
      after = align16(src + (<usize>(batch * cout * uh * uw) << 2));
    }
    memory.copy(tgeom(), geom, GEOM_SLOTS * 4);
    store<i32>(tgeom() + (<usize>G_H << 2), uh);
    store<i32>(tgeom() + (<usize>G_W << 2), uw);
    store<i32>(tgeom() + (<usize>G_SH << 2), 1);
    store<i32>(tgeom() + (<usize>G_SW << 2), 1);
    store<i32>(tgeom() + (<usize>G_HO << 2), h);
    store<i32>(tgeom() + (<usize>G_WO << 2), w);
    store<i32>(tgeom() + (<usize>G_PT << 2), (kh - 1) * dh - pt);
    store<i32>(tgeom() + (<usize>G_PL << 2), (kw - 1) * dw - pl);
    store<i32>(tgeom() + (<usize>G_TB << 2), -1);
    store<i32>(tgeom() + (<usize>G_RELU << 2), 0);
    forwardChannels(tgeom(), src, flipped, 0, dx, after, c0, c1);
    return;
  }
  const acc = align16(scratch);
  const hw = h * w;
  for (let n = 0; n < batch; n++) {
    for (let ci = c0; ci < c1; ci++) {
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
