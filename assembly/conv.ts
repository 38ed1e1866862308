// Convolution by packed GEMM, forward (im2col packed straight into GEMM panels) and its transpose, the
// backward-data pass every LRP rule uses (packed GEMM with the transposed weights, then col2im). Which
// layout and split a call uses is the plan's (src/wasm/conv-plan.ts), written in the geometry block.
import { gemmBlock, MC, MR, NC, NR, packBPlain } from './gemm';
import { tf } from './transform';
import { EPI_MAC, EPI_NONE, put1 } from './epilogue';
import { align16, G_BATCH, G_CHUNKS, G_CIN, G_COUT, G_DH, G_DW, G_EPI, G_EPI_EPS, G_EPI_OPERAND, G_GAMMA_B, G_GAMMA_W, G_H, G_HO, G_KH, G_KW, G_LAYOUT, G_PL, G_PT, G_RELU, G_RELU_TOP, G_SH, G_SPLIT, G_SW, G_TB, G_TW, G_W, G_WO, gf, gi } from './geometry';
import { blocks, shareBegin } from './thread';
import { L_IM2COL, L_POINTWISE, L_SAMPLED, S_BLOCKS } from './constants.generated';

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

/** Scratch bytes a part of conv_gemm_forward or conv_gemm_transpose needs for this geometry. */
export function conv_gemm_scratch(geom: usize): usize {
  const cin = gi(geom, G_CIN), cout = gi(geom, G_COUT), K = cin * gi(geom, G_KH) * gi(geom, G_KW);
  // Each starts with the epilogue's block of GEMM output.
  const tmp = (<usize>(MC * NC) << 2) + 16;
  const forward = tmp + (<usize>cout << 2) + 16 + (<usize>(MC * K) << 2) + 16 + (<usize>(NC * K) << 2) + 16;
  const transpose = tmp + (<usize>(MC * cout) << 2) + 16 + (<usize>(NC * cout) << 2) + 16 + (<usize>(K * NC) << 2) + 16;
  const sampled: usize = gi(geom, G_LAYOUT) == L_SAMPLED ? (<usize>(cin * gi(geom, G_HO) * gi(geom, G_WO)) << 2) + 16 : 0;
  return max(forward, transpose) + sampled;
}

/**
 * y = t(W) * x + t'(b) (ReLU) through the epilogue, for a batch, NCHW; weight [cout][cin][kh][kw]; bias
 * may be 0. The input is read as the plan's layout says (G_LAYOUT): packed from im2col, as it is, or
 * its sampled positions gathered first.
 *
 * Part `part` of `parts` (threads), as the plan's split says (G_SPLIT): the blocks of the batch's
 * 8-column panels, in G_CHUNKS chunks claimed from `queue` (assembly/thread.ts); or a fixed share of
 * the output channels, in 4-row panels, each part reading only its rows of the weights. Every output
 * is computed as with one part, bit for bit. Each part uses its own conv_gemm_scratch(geom) bytes at
 * scratch + part * that.
 */
export function conv_gemm_forward(geom: usize, x: usize, weight: usize, bias: usize, y: usize, scratch: usize, part: i32, parts: i32, queue: usize): void {
  scratch += <usize>part * conv_gemm_scratch(geom);
  const batch = gi(geom, G_BATCH), cin = gi(geom, G_CIN), h = gi(geom, G_H), w = gi(geom, G_W);
  const cout = gi(geom, G_COUT), P = gi(geom, G_HO) * gi(geom, G_WO);
  const K = cin * gi(geom, G_KH) * gi(geom, G_KW);
  const tB = gi(geom, G_TB);
  const relu = gi(geom, G_RELU) != 0, top = gf(geom, G_RELU_TOP);
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
  const layout = gi(geom, G_LAYOUT);
  const sampled = layout == L_SAMPLED, pointwise = layout != L_IM2COL;
  const xs = align16(bp + (<usize>(NC * K) << 2));
  const byBlocks = gi(geom, G_SPLIT) == S_BLOCKS;
  const m0 = byBlocks ? 0 : shareBegin(cout, MR, part, parts), m1 = byBlocks ? cout : shareBegin(cout, MR, part + 1, parts);
  if (m0 >= m1) return;
  const rows = weight + (<usize>(m0 * K) << 2), rowBias = useBias ? biasT + (<usize>m0 << 2) : 0;
  let sampledImage = -1;
  const b = blocks(byBlocks ? queue : 0, byBlocks ? gi(geom, G_CHUNKS) : 1, batch, P, NR, NC);
  while (b.next()) {
    const n = b.image, jc = b.first, nc = b.length;
    let xn = x + (<usize>(n * cin * h * w) << 2);
    const yn = y + (<usize>((n * cout + m0) * P) << 2);
    if (sampled) {
      if (sampledImage != n) sample(xn, xs, cin, h, w, gi(geom, G_HO), gi(geom, G_WO), gi(geom, G_SH), gi(geom, G_SW), false);
      sampledImage = n;
      xn = xs;
    }
    if (pointwise) packBPlain(xn, P, K, jc, nc, bp);
    else packBIm2col(xn, geom, jc, nc, bp);
    gemmBlock(rows, K, 1, gi(geom, G_TW), gf(geom, G_GAMMA_W), m1 - m0, K, bp, nc, yn + (<usize>jc << 2), P, rowBias, relu, top, ap, mode, delta, eps, tmp);
  }
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
 * dx = t(W)^T dy for a batch: the transposed convolution (backward-data), through the epilogue for the
 * layouts that write each dx once (not im2col's col2im, which adds into overlapping windows). dx is
 * overwritten.
 *
 * Part `part` of `parts`, as the plan's split says: a pointwise layout's blocks of columns in chunks
 * claimed from `queue`, as conv_gemm_forward; or a fixed share of the input channels (dx's planes:
 * only whole planes can be shared out where col2im adds into them), in 4-channel runs. Scratch as for
 * conv_gemm_forward.
 */
export function conv_gemm_transpose(geom: usize, dy: usize, weight: usize, dx: usize, scratch: usize, part: i32, parts: i32, queue: usize): void {
  scratch += <usize>part * conv_gemm_scratch(geom);
  const batch = gi(geom, G_BATCH), cin = gi(geom, G_CIN), h = gi(geom, G_H), w = gi(geom, G_W);
  const cout = gi(geom, G_COUT), P = gi(geom, G_HO) * gi(geom, G_WO);
  const kk = gi(geom, G_KH) * gi(geom, G_KW), K = cin * kk;
  const mode = gi(geom, G_EPI), eps = gf(geom, G_EPI_EPS);
  const delta = <usize>gi(geom, G_EPI_OPERAND) - dx;
  const tmp = align16(scratch);
  const ap = align16(tmp + (<usize>(MC * NC) << 2));
  const bp = align16(ap + (<usize>(MC * cout) << 2));
  const col = align16(bp + (<usize>(NC * cout) << 2));
  const layout = gi(geom, G_LAYOUT);
  const sampled = layout == L_SAMPLED, pointwise = layout != L_IM2COL;
  const cs = align16(col + (<usize>(K * NC) << 2));
  const tW = gi(geom, G_TW), gW = gf(geom, G_GAMMA_W);
  if (!pointwise && mode != EPI_NONE) unreachable(); // the plan fuses nothing into col2im
  if (gi(geom, G_SPLIT) == S_BLOCKS) {
    // Every column of dx is its own.
    if (layout != L_POINTWISE) unreachable();
    const b = blocks(queue, gi(geom, G_CHUNKS), batch, P, NR, NC);
    while (b.next()) {
      const n = b.image, jc = b.first, nc = b.length;
      packBPlain(dy + (<usize>(n * cout * P) << 2), P, cout, jc, nc, bp);
      gemmBlock(weight, 1, K, tW, gW, cin, cout, bp, nc, dx + (<usize>(n * cin * P + jc) << 2), P, 0, false, 0, ap, mode, delta, eps, tmp);
    }
    return;
  }
  // col2im adds into dx and a sampled one's scatter skips positions, so dx starts at zero, unless the
  // scatter adds to relevance already there (EPI_MAC); a pointwise GEMM writes all of it.
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
        if (sampled) gemmBlock(rows, 1, K, tW, gW, planes, cout, bp, nc, cs + (<usize>(ci0 * P + jc) << 2), P, 0, false, 0, ap);
        else gemmBlock(rows, 1, K, tW, gW, planes, cout, bp, nc, dxOwn + (<usize>jc << 2), P, 0, false, 0, ap, mode, delta, eps, tmp);
      } else {
        gemmBlock(rows, 1, K, tW, gW, planes * kk, cout, bp, nc, col, nc, 0, false, 0, ap);
        col2im(col, geom, jc, nc, dxn, ci0, ci1);
      }
    }
    if (sampled) sample(dxOwn, cs + (<usize>(ci0 * P) << 2), planes, h, w, gi(geom, G_HO), gi(geom, G_WO), gi(geom, G_SH), gi(geom, G_SW), true, mode, delta);
  }
}
