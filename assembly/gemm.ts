// Packed GEMM: C[M][N] = t(A)[M][K] * B[K][N] (+ bias per row) (ReLU), f32x4 SIMD.
//
// A (weights) is packed in panels of MR = 4 rows, [panel][k][4], applying the rule's transform as it is
// read; B in panels of NR = 8 columns, [panel][k][8], zero-filled past the edges. The micro-kernel keeps a
// 4x8 tile in 8 f32x4 accumulators (V8 keeps about 15 SIMD registers on x64: 8 accumulators, 2 B
// vectors and an A splat fit without spilling) and runs over the whole K, so the epilogue (bias, ReLU)
// is applied once when the tile is stored.
import { epilogueBlock, EPI_NONE } from './epilogue';
import { tf, tfv } from './transform';
import { own, COPY_ALIGN } from './thread';
import { MAX_THREADS, MC, MR, NC, NR } from './constants.generated';

// The tiling is generated with the TypeScript side's (scripts/kernel-constants.mjs): the plan splits work in its units.
export { MC, MR, NC, NR };

const tileAll = memory.data(((MR * NR * 4 + COPY_ALIGN - 1) & ~(COPY_ALIGN - 1)) * MAX_THREADS, COPY_ALIGN);
/** This thread's copy (assembly/thread.ts). */
@inline function tile(): usize {
  return own(tileAll, MR * NR * 4);
}

/**
 * Packs rows [i0, i0 + mc) of t(A), with A(i, k) at a[(i * rs + k * cs)], into MR-row panels.
 * Two layouts occur: rows contiguous along k (cs = 1: W in the forward pass) and columns contiguous
 * along i (rs = 1: W^T in the transposed pass, where a panel's four rows are four adjacent floats).
 */
export function packA(a: usize, rs: i32, cs: i32, i0: i32, mc: i32, K: i32, t: i32, g: f32, out: usize): void {
  const gv = f32x4.splat(g);
  if (rs == 1 && K >= 256) {
    // W^T with a long k: four panels at a time, each k reading one 64-byte run (16 rows) and writing
    // 16 bytes to each of the four, so each panel is written in order. Measured on ResNet-50's 1x1
    // transposes: 7% faster in all, 14% at 7x7 (K up to 2048); the k-outer loop wins at K = 64.
    const full = mc & ~(4 * MR - 1);
    const stride = <usize>cs << 2, panelBytes = <usize>(MR * K) << 2;
    for (let ip = 0; ip < full; ip += 4 * MR) {
      let src = a + (<usize>(i0 + ip) << 2);
      let dst = out + (<usize>(ip * K) << 2);
      for (let k = 0; k < K; k++, src += stride, dst += 16) {
        v128.store(dst, tfv(t, gv, v128.load(src)));
        v128.store(dst + panelBytes, tfv(t, gv, v128.load(src, 16)));
        v128.store(dst + 2 * panelBytes, tfv(t, gv, v128.load(src, 32)));
        v128.store(dst + 3 * panelBytes, tfv(t, gv, v128.load(src, 48)));
      }
    }
    if (full == mc) return;
    packTransposedKOuter(a, cs, i0 + full, mc - full, K, t, g, out + (<usize>(full * K) << 2));
    return;
  }
  if (rs == 1) {
    packTransposedKOuter(a, cs, i0, mc, K, t, g, out);
    return;
  }
  for (let ip = 0; ip < mc; ip += MR) {
    const panel = out + (<usize>(ip * K) << 2);
    if (cs == 1 && ip + MR <= mc) {
      // Four rows at once: a 4x4 block (4 rows by 4 k) is transposed in registers and stored as four
      // whole vectors, instead of sixteen single floats.
      const rowBytes = <usize>rs << 2;
      let src = a + ((<usize>(i0 + ip) * <usize>rs) << 2);
      let dst = panel;
      let k = 0;
      for (; k + 4 <= K; k += 4, src += 16, dst += MR << 4) {
        const r0 = tfv(t, gv, v128.load(src));
        const r1 = tfv(t, gv, v128.load(src + rowBytes));
        const r2 = tfv(t, gv, v128.load(src + 2 * rowBytes));
        const r3 = tfv(t, gv, v128.load(src + 3 * rowBytes));
        storeTransposed(dst, r0, r1, r2, r3);
      }
      for (; k < K; k++, src += 4, dst += MR << 2) {
        for (let r = 0; r < MR; r++) store<f32>(dst + (<usize>r << 2), tf(t, g, load<f32>(src + <usize>r * rowBytes)));
      }
      continue;
    }
    for (let r = 0; r < MR; r++) {
      const i = ip + r;
      let dst = panel + (<usize>r << 2);
      if (i >= mc) {
        for (let k = 0; k < K; k++, dst += MR << 2) store<f32>(dst, 0);
        continue;
      }
      const row = <usize>(i0 + i) * <usize>rs;
      if (cs == 1) {
        let src = a + (row << 2);
        let k = 0;
        for (; k + 4 <= K; k += 4, src += 16, dst += MR << 4) {
          const v = tfv(t, gv, v128.load(src));
          store<f32>(dst, f32x4.extract_lane(v, 0));
          store<f32>(dst, f32x4.extract_lane(v, 1), MR << 2);
          store<f32>(dst, f32x4.extract_lane(v, 2), MR << 3);
          store<f32>(dst, f32x4.extract_lane(v, 3), 3 * (MR << 2));
        }
        for (; k < K; k++, dst += MR << 2, src += 4) store<f32>(dst, tf(t, g, load<f32>(src)));
      } else {
        for (let k = 0; k < K; k++, dst += MR << 2) store<f32>(dst, tf(t, g, load<f32>(a + ((row + <usize>k * <usize>cs) << 2))));
      }
    }
  }
}

/** Stores the 4x4 block whose rows are r0 .. r3 as its four columns, each `stride` bytes after the one before. */
@inline export function storeTransposed(dst: usize, r0: v128, r1: v128, r2: v128, r3: v128, stride: usize = 16): void {
  const t0 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5);
  const t1 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7);
  const t2 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5);
  const t3 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
  v128.store(dst, v128.shuffle<f32>(t0, t2, 0, 1, 4, 5));
  v128.store(dst + stride, v128.shuffle<f32>(t0, t2, 2, 3, 6, 7));
  v128.store(dst + 2 * stride, v128.shuffle<f32>(t1, t3, 0, 1, 4, 5));
  v128.store(dst + 3 * stride, v128.shuffle<f32>(t1, t3, 2, 3, 6, 7));
}

/** packA of W^T (rs = 1), k outer: each k's row of W is read once, 16 bytes to each panel. */
function packTransposedKOuter(a: usize, cs: i32, i0: i32, mc: i32, K: i32, t: i32, g: f32, out: usize): void {
  const gv = f32x4.splat(g);
  for (let k = 0; k < K; k++) {
    const src = a + (<usize>(k * cs + i0) << 2);
    let dst = out + (<usize>k << 4);
    let ip = 0;
    for (; ip + MR <= mc; ip += MR, dst += <usize>(MR * K) << 2) v128.store(dst, tfv(t, gv, v128.load(src + (<usize>ip << 2))));
    if (ip < mc) {
      for (let r = 0; r < MR; r++) store<f32>(dst + (<usize>r << 2), ip + r < mc ? tf(t, g, load<f32>(src + (<usize>(ip + r) << 2))) : 0);
    }
  }
}

/** Packs columns [j0, j0 + nc) of a row-major B (row stride rs floats) into NR-column panels. */
export function packBPlain(b: usize, rs: i32, K: i32, j0: i32, nc: i32, out: usize): void {
  for (let jp = 0; jp < nc; jp += NR) {
    const cols = min(NR, nc - jp);
    let dst = out + (<usize>(jp * K) << 2);
    let src = b + (<usize>(j0 + jp) << 2);
    if (cols == NR) {
      for (let k = 0; k < K; k++, dst += NR << 2, src += <usize>rs << 2) {
        v128.store(dst, v128.load(src));
        v128.store(dst, v128.load(src, 16), 16);
      }
    } else {
      for (let k = 0; k < K; k++, dst += NR << 2, src += <usize>rs << 2) {
        for (let c = 0; c < NR; c++) store<f32>(dst + (<usize>c << 2), c < cols ? load<f32>(src + (<usize>c << 2)) : 0);
      }
    }
  }
}

/**
 * c + a * b. The relaxed-SIMD build (target "relaxed") fuses it into one instruction where the machine
 * has FMA, which the micro-kernel, bound by its multiplies and adds, turns into speed; the plain SIMD
 * build multiplies, then adds.
 */
/**
 * A fused ReLU clamped from above at top (Infinity: a ReLU, which pmin then leaves as it is, NaN
 * included; 6: ReLU6). pmax keeps the unfused ReLU's bits; a ReLU6's zero may be -0 where the Clip
 * kernel gives +0 (IEEE max), the same number.
 */
@inline export function reluTo(v: v128, zero: v128, top: v128): v128 {
  return f32x4.pmin(f32x4.pmax(v, zero), top);
}

@inline export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return v128.relaxed_madd<f32>(a, b, c);
  return f32x4.add(c, f32x4.mul(a, b));
}

/**
 * The 4x8 micro-kernel over the whole K. Stores rows < rows and columns < cols of the tile at c (row
 * stride ldc floats), adding bias[r] when bias != 0 and clamping to [0, top] when relu.
 */
export function kernel4x8(ap: usize, bp: usize, K: i32, c: usize, ldc: i32, rows: i32, cols: i32, bias: usize, relu: bool, top: f32): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  for (let k = 0; k < K; k++) {
    const b0 = v128.load(bp);
    const b1 = v128.load(bp, 16);
    let a = v128.load32_splat(ap);
    c00 = madd(a, b0, c00);
    c01 = madd(a, b1, c01);
    a = v128.load32_splat(ap, 4);
    c10 = madd(a, b0, c10);
    c11 = madd(a, b1, c11);
    a = v128.load32_splat(ap, 8);
    c20 = madd(a, b0, c20);
    c21 = madd(a, b1, c21);
    a = v128.load32_splat(ap, 12);
    c30 = madd(a, b0, c30);
    c31 = madd(a, b1, c31);
    ap += 16;
    bp += 32;
  }
  if (bias != 0) {
    let bv = v128.load32_splat(bias);
    c00 = f32x4.add(c00, bv);
    c01 = f32x4.add(c01, bv);
    if (rows > 1) {
      bv = v128.load32_splat(bias, 4);
      c10 = f32x4.add(c10, bv);
      c11 = f32x4.add(c11, bv);
    }
    if (rows > 2) {
      bv = v128.load32_splat(bias, 8);
      c20 = f32x4.add(c20, bv);
      c21 = f32x4.add(c21, bv);
    }
    if (rows > 3) {
      bv = v128.load32_splat(bias, 12);
      c30 = f32x4.add(c30, bv);
      c31 = f32x4.add(c31, bv);
    }
  }
  if (relu) {
    const z = f32x4.splat(0), t = f32x4.splat(top);
    c00 = reluTo(c00, z, t);
    c01 = reluTo(c01, z, t);
    c10 = reluTo(c10, z, t);
    c11 = reluTo(c11, z, t);
    c20 = reluTo(c20, z, t);
    c21 = reluTo(c21, z, t);
    c30 = reluTo(c30, z, t);
    c31 = reluTo(c31, z, t);
  }
  const row = <usize>ldc << 2;
  if (rows == MR && cols == NR) {
    v128.store(c, c00);
    v128.store(c, c01, 16);
    v128.store(c + row, c10);
    v128.store(c + row, c11, 16);
    v128.store(c + 2 * row, c20);
    v128.store(c + 2 * row, c21, 16);
    v128.store(c + 3 * row, c30);
    v128.store(c + 3 * row, c31, 16);
    return;
  }
  v128.store(tile(), c00);
  v128.store(tile(), c01, 16);
  v128.store(tile(), c10, 32);
  v128.store(tile(), c11, 48);
  v128.store(tile(), c20, 64);
  v128.store(tile(), c21, 80);
  v128.store(tile(), c30, 96);
  v128.store(tile(), c31, 112);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < cols; j++) store<f32>(c + <usize>r * row + (<usize>j << 2), load<f32>(tile() + (<usize>(r * NR + j) << 2)));
  }
}

/**
 * One column block: C[M][nc] = t(A)[M][K] * Bp (packed, nc columns). A is packed MC rows at a time into
 * ap. c points at the block's first column; ldc is C's row stride in floats. With an epilogue (mode,
 * its operand at c + delta, eps), each MC x nc block is computed into tmp and passes through it into C
 * while it is in cache.
 */
export function gemmBlock(a: usize, rsA: i32, csA: i32, t: i32, g: f32, M: i32, K: i32, bp: usize, nc: i32, c: usize, ldc: i32, bias: usize, relu: bool, top: f32, ap: usize, mode: i32 = EPI_NONE, delta: usize = 0, eps: f32 = 0, tmp: usize = 0): void {
  for (let ic = 0; ic < M; ic += MC) {
    const mc = min(MC, M - ic);
    packA(a, rsA, csA, ic, mc, K, t, g, ap);
    if (mode == EPI_NONE) {
      kernels(ap, ic, mc, K, bp, nc, c, ldc, bias, relu, top);
      continue;
    }
    kernels(ap, 0, mc, K, bp, nc, tmp, nc, bias != 0 ? bias + (<usize>ic << 2) : 0, relu, top);
    epilogueBlock(tmp, nc, c + (<usize>(ic * ldc) << 2), ldc, mc, nc, mode, delta, eps);
  }
}

/**
 * gemmBlock for an A packed whole beforehand ([panel][k][4] over all rows, e.g. Winograd's U), rows
 * [i0, i1) of C (i0 a multiple of MR): still walked MC rows at a time, so the rows in use stay in L2
 * while B's panels stream past them.
 */
export function gemmPacked(ap: usize, i0: i32, i1: i32, K: i32, bp: usize, nc: i32, c: usize, ldc: i32): void {
  for (let ic = i0; ic < i1; ic += MC) kernels(ap + (<usize>(ic * K) << 2), ic, min(MC, i1 - ic), K, bp, nc, c, ldc, 0, false, 0);
}

/**
 * gemmPacked with A = U^T, U being packed for the other direction ([panel of 4 rows of U][M][4], M
 * floats of k each): the transposed Winograd convolution reads the layer's own U this way instead of
 * transforming its weights again in the transposed order. MC rows at a time are repacked into ap.
 */
export function gemmPackedTransposed(u: usize, M: i32, i0: i32, i1: i32, K: i32, bp: usize, nc: i32, c: usize, ldc: i32, ap: usize): void {
  for (let ic = i0; ic < i1; ic += MC) {
    const mc = min(MC, i1 - ic);
    packAFromU(u, M, ic, mc, K, ap);
    kernels(ap, ic, mc, K, bp, nc, c, ldc, 0, false, 0);
  }
}

/**
 * Rows [i0, i0 + mc) of U^T as MR-row panels. U(k, i) sits at ((k >> 2) * M + i) * 4 + (k & 3): four
 * rows of A by four k are one 64-byte block of U, transposed in registers into the panel's four k.
 */
function packAFromU(u: usize, M: i32, i0: i32, mc: i32, K: i32, out: usize): void {
  const fullI = mc & ~(MR - 1), fullK = K & ~3;
  // Panel by panel, so the writes run in order (64-byte blocks of U are read whole wherever they are).
  for (let ip = 0; ip < fullI; ip += MR) {
    let src = u + (<usize>(i0 + ip) << 4);
    let dst = out + (<usize>(ip * K) << 2);
    for (let k = 0; k < fullK; k += 4, src += <usize>M << 4, dst += 64) {
      const r0 = v128.load(src), r1 = v128.load(src, 16), r2 = v128.load(src, 32), r3 = v128.load(src, 48);
      storeTransposed(dst, r0, r1, r2, r3);
    }
  }
  // The edges: a last partial panel of rows (zero-filled past mc), a last k short of four.
  for (let ip = 0; ip < mc; ip += MR) {
    const k0 = ip < fullI ? fullK : 0;
    for (let k = k0; k < K; k++) {
      for (let r = 0; r < MR; r++) {
        const i = i0 + ip + r;
        const value = ip + r < mc ? load<f32>(u + (<usize>(((k >> 2) * M + i) * 4 + (k & 3)) << 2)) : 0;
        store<f32>(out + (<usize>((ip * K + k * MR) + r) << 2), value);
      }
    }
  }
}

/** The micro-kernel over rows [ic, ic + mc) (packed at ap) and the nc columns of the packed B. */
function kernels(ap: usize, ic: i32, mc: i32, K: i32, bp: usize, nc: i32, c: usize, ldc: i32, bias: usize, relu: bool, top: f32): void {
  for (let jr = 0; jr < nc; jr += NR) {
    const bpanel = bp + (<usize>(jr * K) << 2);
    for (let ir = 0; ir < mc; ir += MR) {
      kernel4x8(
        ap + (<usize>(ir * K) << 2),
        bpanel,
        K,
        c + (<usize>((ic + ir) * ldc + jr) << 2),
        ldc,
        min(MR, mc - ir),
        min(NR, nc - jr),
        bias != 0 ? bias + (<usize>(ic + ir) << 2) : 0,
        relu,
        top,
      );
    }
  }
}
