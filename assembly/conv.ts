// Convolution forward (im2col packed straight into GEMM panels) and its transpose, the backward-data
// pass every LRP rule uses (packed GEMM with the transposed weights, then col2im).
import { gemmBlock, MC, MR, NC, NR, packBPlain } from './gemm';
import { onesForward, onesScratch, onesTranspose, oneChannel } from './ones';
import { tf, T_ONES } from './transform';
import { EPI_MAC, EPI_NONE, put1 } from './epilogue';
import { align16, GEOM_SLOTS, G_BATCH, G_CIN, G_COUT, G_DH, G_DW, G_EPI, G_EPI_EPS, G_EPI_OPERAND, G_GAMMA_B, G_GAMMA_W, G_H, G_HO, G_KH, G_KW, G_PL, G_PT, G_RELU, G_SH, G_SW, G_TB, G_TW, G_W, G_WO, gf, gi } from './geometry';
import { keepsU, transposedGeometry, useWinograd, winograd_forward, winograd_scratch } from './winograd';
import { blockLength, chunkCount, firstChunk, nextChunk, own, shareBegin, COPY_ALIGN } from './thread';
import { MAX_THREADS } from './constants.generated';

/** The geometry of a layer's transposed convolution, when it runs by Winograd. */
const tgeomAll = memory.data(((GEOM_SLOTS * 4 + COPY_ALIGN - 1) & ~(COPY_ALIGN - 1)) * MAX_THREADS, COPY_ALIGN);
/** This thread's copy (assembly/thread.ts). */
@inline function tgeom(): usize {
  return own(tgeomAll, GEOM_SLOTS * 4);
}

/**
 * Packs columns [j0, j0 + nc) of im2col(x) (one image) into NR-column panels. A panel whose 8 output
 * positions lie in one output row at stride 1 reads 8 consecutive inputs per tap: two vector loads
 * when they are all inside the image, element by element only at the borders.
 */
function packBIm2col(x: usize, geom: usize, j0: i32, nc: i32, out: usize): void {
  const cin = gi(geom, G_CIN), h = gi(geom, G_H), w = gi(geom, G_W), wo = gi(geom, G_WO);
  const kh = gi(geom, G_KH), kw = gi(geom, G_KW), sh = gi(geom, G_SH), sw = gi(geom, G_SW);
  const pt = gi(geom, G_PT), pl = gi(geom, G_PL), dh = gi(geom, G_DH), dw = gi(geom, G_DW);
  const K = cin * kh * kw;
  for (let jp = 0; jp < nc; jp += NR) {
    const panel = out + (<usize>(jp * K) << 2);
    const jFirst = j0 + jp;
    const cols = min(NR, nc - jp);
    const oh = jFirst / wo, ow = jFirst % wo;
    if (sw == 1 && cols == NR && ow + NR <= wo) {
      // One output row: input columns w0 .. w0 + 7 (+ jj * dw) for every tap.
      const h0 = oh * sh - pt, w0 = ow - pl;
      let dst = panel;
      for (let ci = 0; ci < cin; ci++) {
        const plane = x + (<usize>(ci * h * w) << 2);
        for (let i = 0; i < kh; i++) {
          const ih = h0 + i * dh;
          const rowOk = ih >= 0 && ih < h;
          const row = plane + (<usize>(ih * w) << 2);
          for (let jj = 0; jj < kw; jj++, dst += NR << 2) {
            const iw = w0 + jj * dw;
            if (rowOk && iw >= 0 && iw + NR <= w) {
              const src = row + (<usize>iw << 2);
              v128.store(dst, v128.load(src));
              v128.store(dst, v128.load(src, 16), 16);
            } else {
              for (let c = 0; c < NR; c++) {
                const col = iw + c;
                store<f32>(dst + (<usize>c << 2), rowOk && col >= 0 && col < w ? load<f32>(row + (<usize>col << 2)) : 0);
              }
            }
          }
        }
      }
      continue;
    }
    for (let c = 0; c < NR; c++) {
      const j = jFirst + c;
      let dst = panel + (<usize>c << 2);
      if (c >= cols) {
        for (let k = 0; k < K; k++, dst += NR << 2) store<f32>(dst, 0);
        continue;
      }
      const ohc = j / wo, owc = j % wo;
      const h0 = ohc * sh - pt, w0 = owc * sw - pl;
      for (let ci = 0; ci < cin; ci++) {
        const plane = x + (<usize>(ci * h * w) << 2);
        for (let i = 0; i < kh; i++) {
          const ih = h0 + i * dh;
          const rowOk = ih >= 0 && ih < h;
          for (let jj = 0; jj < kw; jj++, dst += NR << 2) {
            const iw = w0 + jj * dw;
            store<f32>(dst, rowOk && iw >= 0 && iw < w ? load<f32>(plane + (<usize>(ih * w + iw) << 2)) : 0);
          }
        }
      }
    }
  }
}

@inline function isPointwise(geom: usize): bool {
  return gi(geom, G_KH) == 1 && gi(geom, G_KW) == 1 && gi(geom, G_SH) == 1 && gi(geom, G_SW) == 1 &&
    gi(geom, G_PT) == 0 && gi(geom, G_PL) == 0 && gi(geom, G_HO) == gi(geom, G_H) && gi(geom, G_WO) == gi(geom, G_W);
}

/**
 * A strided 1x1 convolution without padding (bottom and right too: every output samples an input): a
 * pointwise one on every sh-th row and sw-th column.
 */
@inline function isSampled(geom: usize): bool {
  return gi(geom, G_KH) == 1 && gi(geom, G_KW) == 1 && gi(geom, G_PT) == 0 && gi(geom, G_PL) == 0 && !isPointwise(geom) &&
    (gi(geom, G_HO) - 1) * gi(geom, G_SH) < gi(geom, G_H) && (gi(geom, G_WO) - 1) * gi(geom, G_SW) < gi(geom, G_W);
}

/**
 * The sampled positions of `planes` planes (h x w) as compact planes (ho x wo), or with `scatter` the
 * reverse, into zero-filled planes (or, with the epilogue EPI_MAC, planes holding relevance, which only
 * the sampled positions change): the values pass through the epilogue (mode, operand at full + delta).
 * At stride 2 along rows, four outputs come from two vector loads.
 */
function sample(full: usize, compact: usize, planes: i32, h: i32, w: i32, ho: i32, wo: i32, sh: i32, sw: i32, scatter: bool, mode: i32 = EPI_NONE, delta: usize = 0): void {
  const zero = f32x4.splat(0);
  for (let c = 0; c < planes; c++) {
    for (let oh = 0; oh < ho; oh++) {
      const f = full + (<usize>((c * h + oh * sh) * w) << 2);
      const s = compact + (<usize>((c * ho + oh) * wo) << 2);
      let ow = 0;
      if (sw == 2) {
        for (; ow + 4 <= wo && 2 * ow + 8 <= w; ow += 4) {
          const fp = f + (<usize>(2 * ow) << 2), sp = s + (<usize>ow << 2);
          if (scatter) {
            let v = v128.load(sp);
            // The transposed pass's product x * c, x read at the sampled positions.
            if (mode != EPI_NONE) v = f32x4.mul(v128.shuffle<f32>(v128.load(fp + delta), v128.load(fp + delta, 16), 0, 2, 4, 6), v);
            let lo = v128.shuffle<f32>(v, zero, 0, 4, 1, 5), hi = v128.shuffle<f32>(v, zero, 2, 6, 3, 7);
            if (mode == EPI_MAC) {
              lo = f32x4.add(v128.load(fp), lo);
              hi = f32x4.add(v128.load(fp, 16), hi);
            }
            v128.store(fp, lo);
            v128.store(fp, hi, 16);
          } else {
            v128.store(sp, v128.shuffle<f32>(v128.load(fp), v128.load(fp, 16), 0, 2, 4, 6));
          }
        }
      }
      for (; ow < wo; ow++) {
        const fp = f + (<usize>(ow * sw) << 2), sp = s + (<usize>ow << 2);
        if (scatter) put1(fp, load<f32>(sp), mode, delta, 0);
        else store<f32>(sp, load<f32>(fp));
      }
    }
  }
}

/**
 * Whether conv2d_forward (or, `transposed`, conv2d_transpose) runs this geometry by Winograd: the
 * caller then passes the layer's U (winograd_weights_size(cin, cout) floats; winograd_weights fills it
 * for the plain weights), ready or to be filled.
 */
export function conv2d_uses_winograd(geom: usize, transposed: bool): bool {
  return transposed ? transposeByWinograd(geom) : useWinograd(geom);
}

/**
 * Whether the layer's U of its plain weights should be kept from upload (winograd_weights) rather than
 * made by each forward pass: see keepsU.
 */
export function conv2d_keeps_winograd(geom: usize): bool {
  return keepsU(geom);
}

/**
 * Whether conv2d_forward (or, `transposed`, conv2d_transpose) of this geometry applies the epilogue set in
 * it (assembly/epilogue.ts). The others (the flat rule's all-ones weights, and transposes by col2im)
 * must be given none; their caller does the step itself.
 */
export function conv2d_fuses(geom: usize, transposed: bool): bool {
  if (gi(geom, G_TW) == T_ONES) return false;
  if (!transposed) return true;
  return transposeByWinograd(geom) || isPointwise(geom) || isSampled(geom);
}

/** Scratch bytes conv2d_forward and conv2d_transpose need for this geometry. */
export function conv2d_scratch(geom: usize): usize {
  if (gi(geom, G_TW) == T_ONES) return onesScratch(geom, conv2d_scratch(oneChannel(geom)));
  const cin = gi(geom, G_CIN), cout = gi(geom, G_COUT), K = cin * gi(geom, G_KH) * gi(geom, G_KW);
  // Each starts with the epilogue's block of GEMM output.
  const tmp = (<usize>(MC * NC) << 2) + 16;
  const forward = tmp + (<usize>cout << 2) + 16 + (<usize>(MC * K) << 2) + 16 + (<usize>(NC * K) << 2) + 16;
  const transpose = tmp + (<usize>(MC * cout) << 2) + 16 + (<usize>(NC * cout) << 2) + 16 + (<usize>(K * NC) << 2) + 16;
  const sampled: usize = isSampled(geom) ? (<usize>(cin * gi(geom, G_HO) * gi(geom, G_WO)) << 2) + 16 : 0;
  let wino: usize = useWinograd(geom) ? winograd_scratch(geom) : 0;
  if (transposeByWinograd(geom)) wino = max(wino, winograd_scratch(tgeom()));
  return max(max(forward, transpose) + sampled, wino);
}

/** Whether the transposed convolution runs by Winograd; leaves its geometry in tgeom(). */
function transposeByWinograd(geom: usize): bool {
  if (gi(geom, G_KH) != 3 || gi(geom, G_KW) != 3 || gi(geom, G_SH) != 1 || gi(geom, G_SW) != 1 || gi(geom, G_DH) != 1 || gi(geom, G_DW) != 1) return false;
  transposedGeometry(geom, tgeom());
  return useWinograd(tgeom());
}

/**
 * y = t(W) * x + t'(b) (ReLU) for a batch, NCHW; weight [cout][cin][kh][kw]; bias may be 0; u is the
 * layer's Winograd U of t(W) where conv2d_uses_winograd, filled here unless uReady, or 0.
 *
 * Part `part` of `parts` (threads): chunks of the batch's 8-column panels, claimed from `queue` (the
 * job's counter, see assembly/thread.ts; 0 with one part), when there are at least NC columns a part,
 * else a fixed share of the output channels, in 4-row panels; every output is computed as with one
 * part, bit for bit. Each part uses its own conv2d_scratch(geom) bytes at scratch + part * that.
 * With several parts, U must be ready (winograd_weights_transformed first).
 */
export function conv2d_forward(geom: usize, x: usize, weight: usize, bias: usize, y: usize, scratch: usize, u: usize, uReady: bool, part: i32, parts: i32, queue: usize): void {
  if (gi(geom, G_TW) == T_ONES) {
    // Its single-channel convolution runs whole, on part 0.
    if (part == 0) onesForward(geom, x, bias, y, scratch, conv2d_forward1);
    return;
  }
  scratch += <usize>part * conv2d_scratch(geom);
  if (useWinograd(geom)) {
    winograd_forward(geom, x, weight, bias, y, scratch, u, uReady, false, part, parts, queue);
    return;
  }
  const batch = gi(geom, G_BATCH), cin = gi(geom, G_CIN), h = gi(geom, G_H), w = gi(geom, G_W);
  const cout = gi(geom, G_COUT), P = gi(geom, G_HO) * gi(geom, G_WO);
  const K = cin * gi(geom, G_KH) * gi(geom, G_KW);
  const tB = gi(geom, G_TB);
  const relu = gi(geom, G_RELU) != 0;
  const mode = gi(geom, G_EPI), eps = gf(geom, G_EPI_EPS);
  const delta = <usize>gi(geom, G_EPI_OPERAND) - y;
  const tmp = align16(scratch);
  const biasT = align16(tmp + (<usize>(MC * NC) << 2));
  const ap = align16(biasT + (<usize>cout << 2));
  const bp = align16(ap + (<usize>(MC * K) << 2));
  const useBias = bias != 0 && tB >= 0;
  if (useBias) {
    const gB = gf(geom, G_GAMMA_B);
    for (let co = 0; co < cout; co++) store<f32>(biasT + (<usize>co << 2), tf(tB, gB, load<f32>(bias + (<usize>co << 2))));
  }
  // A strided 1x1 convolution gathers its sampled inputs first and then runs as a pointwise one.
  const sampled = isSampled(geom);
  const xs = align16(bp + (<usize>(NC * K) << 2));
  const pointwise = sampled || isPointwise(geom);
  // The work: the batch's 8-column panels, claimed in chunks (assembly/thread.ts) and cut into blocks
  // of up to NC columns within each image, when every part gets a block's worth; else each part takes
  // a fixed share of the output channels (and reads only its rows of the weights, which a few columns
  // use little).
  const perImage = (P + NR - 1) / NR, allPanels = batch * perImage;
  const byColumns = parts == 1 || batch * P >= parts * NC;
  const chunks = byColumns ? chunkCount(allPanels, parts, 1) : 1, claims = byColumns ? queue : 0;
  const m0 = byColumns ? 0 : shareBegin(cout, MR, part, parts), m1 = byColumns ? cout : shareBegin(cout, MR, part + 1, parts);
  if (m0 >= m1) return;
  const rows = weight + (<usize>(m0 * K) << 2), rowBias = useBias ? biasT + (<usize>m0 << 2) : 0;
  let sampledImage = -1;
  for (let c = firstChunk(claims); c < chunks; c = nextChunk(claims, c)) {
    const p1 = shareBegin(allPanels, 1, c + 1, chunks);
    for (let p = shareBegin(allPanels, 1, c, chunks); p < p1; ) {
      const n = p / perImage, jc = (p - n * perImage) * NR;
      const nc = blockLength(p, p1, perImage, P, NR, NC);
      p += (nc + NR - 1) / NR;
      let xn = x + (<usize>(n * cin * h * w) << 2);
      const yn = y + (<usize>((n * cout + m0) * P) << 2);
      if (sampled) {
        if (sampledImage != n) sample(xn, xs, cin, h, w, gi(geom, G_HO), gi(geom, G_WO), gi(geom, G_SH), gi(geom, G_SW), false);
        sampledImage = n;
        xn = xs;
      }
      if (pointwise) packBPlain(xn, P, K, jc, nc, bp);
      else packBIm2col(xn, geom, jc, nc, bp);
      gemmBlock(rows, K, 1, gi(geom, G_TW), gf(geom, G_GAMMA_W), m1 - m0, K, bp, nc, yn + (<usize>jc << 2), P, rowBias, relu, ap, mode, delta, eps, tmp);
    }
  }
}

/** conv2d_forward on one part: the single-channel convolution of the flat rule (assembly/ones.ts). */
function conv2d_forward1(geom: usize, x: usize, weight: usize, bias: usize, y: usize, scratch: usize, u: usize, uReady: bool): void {
  conv2d_forward(geom, x, weight, bias, y, scratch, u, uReady, 0, 1, 0);
}

/**
 * Scatter-adds columns [j0, j0 + nc) of col ([K][nc], rows of input channels [ci0, ci1) only) into dx
 * (one image): the transpose of im2col. Columns are taken a run of one output row at a time; at stride
 * 1 a run lands on consecutive inputs and is added four lanes at a time.
 */
function col2im(col: usize, geom: usize, j0: i32, nc: i32, dx: usize, ci0: i32, ci1: i32): void {
  const h = gi(geom, G_H), w = gi(geom, G_W), wo = gi(geom, G_WO);
  const kh = gi(geom, G_KH), kw = gi(geom, G_KW), sh = gi(geom, G_SH), sw = gi(geom, G_SW);
  const pt = gi(geom, G_PT), pl = gi(geom, G_PL), dh = gi(geom, G_DH), dw = gi(geom, G_DW);
  for (let ci = ci0; ci < ci1; ci++) {
    const plane = dx + (<usize>(ci * h * w) << 2);
    for (let i = 0; i < kh; i++) {
      for (let jj = 0; jj < kw; jj++) {
        const k = ((ci - ci0) * kh + i) * kw + jj;        const src = col + (<usize>(k * nc) << 2);
        let c = 0;
        while (c < nc) {
          const j = j0 + c;
          const oh = j / wo, ow = j % wo;
          const run = min(wo - ow, nc - c);
          const ih = oh * sh - pt + i * dh;
          if (ih >= 0 && ih < h) {
            const row = plane + (<usize>(ih * w) << 2);
            const s = src + (<usize>c << 2);
            if (sw == 1) {
              const iw0 = ow - pl + jj * dw;
              const lo = max(0, -iw0), hi = min(run, w - iw0);
              let t = lo;
              for (; t + 4 <= hi; t += 4) {
                const d = row + (<usize>(iw0 + t) << 2);
                v128.store(d, f32x4.add(v128.load(d), v128.load(s + (<usize>t << 2))));
              }
              for (; t < hi; t++) {
                const d = row + (<usize>(iw0 + t) << 2);
                store<f32>(d, load<f32>(d) + load<f32>(s + (<usize>t << 2)));
              }
            } else {
              for (let t = 0; t < run; t++) {
                const iw = (ow + t) * sw - pl + jj * dw;
                if (iw >= 0 && iw < w) {
                  const d = row + (<usize>iw << 2);
                  store<f32>(d, load<f32>(d) + load<f32>(s + (<usize>t << 2)));
                }
              }
            }
          }
          c += run;
        }
      }
    }
  }
}

/**
 * dx = t(W)^T dy for a batch: the transposed convolution (backward-data). dx is overwritten. u: as for
 * conv2d_forward, the layer's own U (not a transposed one), where conv2d_uses_winograd(geom, true).
 *
 * Part `part` of `parts`: a pointwise one with NC columns a part or more claims chunks of columns from
 * `queue`, as conv2d_forward; the others take a fixed share of the input channels (dx's planes; col2im
 * adds into overlapping windows, so only whole planes can be shared out), in 4-channel runs. Scratch
 * and U as for conv2d_forward.
 */
export function conv2d_transpose(geom: usize, dy: usize, weight: usize, dx: usize, scratch: usize, u: usize, uReady: bool, part: i32, parts: i32, queue: usize): void {
  if (gi(geom, G_TW) == T_ONES) {
    if (part == 0) onesTranspose(geom, dy, dx, scratch, conv2d_transpose1);
    return;
  }
  scratch += <usize>part * conv2d_scratch(geom);
  const batch = gi(geom, G_BATCH), cin = gi(geom, G_CIN), h = gi(geom, G_H), w = gi(geom, G_W);
  const cout = gi(geom, G_COUT), P = gi(geom, G_HO) * gi(geom, G_WO);
  const kk = gi(geom, G_KH) * gi(geom, G_KW), K = cin * kk;
  const mode = gi(geom, G_EPI), eps = gf(geom, G_EPI_EPS);
  const delta = <usize>gi(geom, G_EPI_OPERAND) - dx;
  const tmp = align16(scratch);
  const ap = align16(tmp + (<usize>(MC * NC) << 2));
  const bp = align16(ap + (<usize>(MC * cout) << 2));
  const col = align16(bp + (<usize>(NC * cout) << 2));
  // A strided 1x1 convolution's transpose is a pointwise one into compact planes, then scattered.
  const sampled = isSampled(geom);
  const cs = align16(col + (<usize>(K * NC) << 2));
  const pointwise = sampled || isPointwise(geom);
  const tW = gi(geom, G_TW), gW = gf(geom, G_GAMMA_W);
  if (transposeByWinograd(geom)) {
    winograd_forward(tgeom(), dy, weight, 0, dx, scratch, u, uReady, true, part, parts, queue);
    return;
  }
  // col2im adds into dx and a sampled one's scatter skips positions, so dx starts at zero, unless the
  // scatter adds to relevance already there (EPI_MAC); a pointwise GEMM writes all of it.
  if (!pointwise && mode != EPI_NONE) unreachable(); // conv2d_fuses said no
  if (pointwise && !sampled && (parts == 1 || batch * P >= parts * NC)) {
    // Every column of dx is its own: the columns are claimed in chunks, as by conv2d_forward.
    const perImage = (P + NR - 1) / NR, allPanels = batch * perImage;
    const chunks = chunkCount(allPanels, parts, 1);
    for (let c = firstChunk(queue); c < chunks; c = nextChunk(queue, c)) {
      const p1 = shareBegin(allPanels, 1, c + 1, chunks);
      for (let p = shareBegin(allPanels, 1, c, chunks); p < p1; ) {
        const n = p / perImage, jc = (p - n * perImage) * NR;
        const nc = blockLength(p, p1, perImage, P, NR, NC);
        p += (nc + NR - 1) / NR;
        packBPlain(dy + (<usize>(n * cout * P) << 2), P, cout, jc, nc, bp);
        gemmBlock(weight, 1, K, tW, gW, cin, cout, bp, nc, dx + (<usize>(n * cin * P + jc) << 2), P, 0, false, ap, mode, delta, eps, tmp);
      }
    }
    return;
  }
  const ci0 = shareBegin(cin, MR, part, parts), ci1 = shareBegin(cin, MR, part + 1, parts);
  if (ci0 >= ci1) return;
  const planes = ci1 - ci0, rows = weight + (<usize>(ci0 * kk) << 2);
  for (let n = 0; n < batch; n++) {
    const dyn = dy + (<usize>(n * cout * P) << 2);
    const dxn = dx + (<usize>(n * cin * h * w) << 2);
    const dxOwn = dxn + (<usize>(ci0 * h * w) << 2);
    if (!pointwise || (sampled && mode != EPI_MAC)) memory.fill(dxOwn, 0, <usize>(planes * h * w) << 2);
    for (let jc = 0; jc < P; jc += NC) {
      const nc = min(NC, P - jc);
      packBPlain(dyn, P, cout, jc, nc, bp);
      if (pointwise) {
        if (sampled) gemmBlock(rows, 1, K, tW, gW, planes, cout, bp, nc, cs + (<usize>(ci0 * P + jc) << 2), P, 0, false, ap);
        else gemmBlock(rows, 1, K, tW, gW, planes, cout, bp, nc, dxOwn + (<usize>jc << 2), P, 0, false, ap, mode, delta, eps, tmp);
      } else {
        gemmBlock(rows, 1, K, tW, gW, planes * kk, cout, bp, nc, col, nc, 0, false, ap);
        col2im(col, geom, jc, nc, dxn, ci0, ci1);
      }
    }
    if (sampled) sample(dxOwn, cs + (<usize>(ci0 * P) << 2), planes, h, w, gi(geom, G_HO), gi(geom, G_WO), gi(geom, G_SH), gi(geom, G_SW), true, mode, delta);
  }
}

/** conv2d_transpose on one part: the single-channel transpose of the flat rule (assembly/ones.ts). */
function conv2d_transpose1(geom: usize, dy: usize, weight: usize, dx: usize, scratch: usize, u: usize, uReady: bool): void {
  conv2d_transpose(geom, dy, weight, dx, scratch, u, uReady, 0, 1, 0);
}
