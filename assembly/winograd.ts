// Winograd F(2x2, 3x3) for 3x3 stride-1 convolutions (Lavin and Gray, 2016), forward and transposed:
//
//   Y = A^T [ (G g G^T) . (B^T d B) ] A      for every 2x2 output tile, d its 4x4 input patch,
//
// so a tile costs 16 multiplies per (input, output) channel pair instead of 36. Summed over input
// channels, the 16 elementwise products become 16 GEMMs U_t[cout][cin] x V_t[cin][tiles] on the packed
// GEMM of gemm.ts. U = G t(g) G^T is written straight as the GEMM's packed A panels, four channel pairs
// at a time: once at upload for the plain weights (winograd_weights), and for a rule's transform by the
// first pass of a node that needs it, the engine keeping it for the node's other passes. The transposed
// pass reads the same U, transposed while packing. The input transform writes the packed B panels, and
// both transforms work on four tiles at once where they lie in one row.
//
//   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]   G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]
//   A^T = [1 1 1 0; 0 1 -1 -1]
import { gemmPacked, gemmPackedTransposed, MC, MR, NC, reluTo, storeTransposed } from './gemm';
import { put1, put4 } from './epilogue';
import { align16, G_BATCH, G_CHUNKS, G_CIN, G_COUT, G_EPI, G_EPI_EPS, G_EPI_OPERAND, G_GAMMA_B, G_GAMMA_W, G_H, G_HO, G_PL, G_PT, G_RELU, G_RELU_TOP, G_SPLIT, G_TB, G_TW, G_W, G_WO, gf, gi } from './geometry';
import { tf, tfv } from './transform';
import { blocks, own, shareBegin, COPY_ALIGN } from './thread';
import { MAX_THREADS, S_BLOCKS } from './constants.generated';

/** Tiles transformed and multiplied at once (the GEMMs' column block). */
const NT: i32 = NC;

/**
 * The column block of this geometry: NT tiles, or all of them in whole panels of 8 when fewer (7x7 has
 * 16), so V and M are sized by the layer, not by the largest block.
 */
@inline function blockTiles(ho: i32, wo: i32): i32 {
  return min(NT, ((((ho + 1) >> 1) * ((wo + 1) >> 1)) + 7) & ~7);
}

/**
 * Bytes from one of the 16 planes of U, V or M to the next: its size plus a cache line. The transforms
 * read or write all 16 planes at once, and plane sizes are often multiples of 4 KiB: unskewed, the 16
 * streams would fall in one set of the L1 cache, which holds 8.
 */
@inline function planeStride(floats: i32): usize {
  return (<usize>floats << 2) + 64;
}

/** Plane stride of packed U: the GEMM's A, cout rows (whole panels of MR) by cin. */
@inline function packedPlane(cin: i32, cout: i32): usize {
  return planeStride(((cout + MR - 1) / MR) * MR * cin);
}

/** Floats of a layer's stored U: 16 planes of packed A. */
export function winograd_weights_size(cin: i32, cout: i32): usize {
  return 16 * packedPlane(cin, cout) >> 2;
}

/**
 * U of the plain weights, packed for the forward pass and stored at upload: that pass, which every
 * explanation starts with, then neither transforms weights nor packs A.
 */
export function winograd_weights(weight: usize, cin: i32, cout: i32, u: usize): void {
  transformWeights(weight, cin, cout, 0, 0, u);
}

/** Scratch bytes a part of conv_winograd needs (U is the caller's): V, M, and a block of repacked U^T. */
export function winograd_scratch(geom: usize): usize {
  const cin = <usize>gi(geom, G_CIN), cout = <usize>gi(geom, G_COUT);
  const nb = blockTiles(gi(geom, G_HO), gi(geom, G_WO));
  return (cout << 2) + 16 * planeStride(<i32>cin * nb) + 16 * planeStride(<i32>cout * nb) + (<usize>MC * cin << 2) + 4 * 16;
}

const zeroKernel = memory.data(12 * 4, 16);

/**
 * U_t = (G t(g) G^T)[t], t = 4 * row + column, for every channel pair of a layer's weight
 * [layerOut][layerIn][3][3], written as 16 planes of packed GEMM A panels ([panel][k][MR]): A_t's rows
 * are the output channels, k the input channels. Rows past the end get zero kernels.
 */
function transformWeights(weight: usize, layerIn: i32, layerOut: i32, t: i32, gamma: f32, u: usize, p0: i32 = 0, p1: i32 = layerOut): void {
  const plane = packedPlane(layerIn, layerOut);
  const gv = f32x4.splat(gamma);
  const fullOut = layerOut & ~(MR - 1), fullIn = layerIn & ~3;
  const rowBytes = <usize>(layerIn * 9) << 2;
  for (let p = p0; p < p1; p += MR) {
    let k = 0;
    if (p < fullOut) {
      // Four output by four input channels: each output channel's 36 taps lie in a row, so the block is
      // nine 4x4 blocks, read as whole vectors and transposed in registers into the taps of four kernels
      // (one lane each), instead of gathering 144 single floats: 0.8x the time per channel pair.
      for (; k < fullIn; k += 4) {
        let src = weight + (<usize>((p * layerIn + k) * 9) << 2);
        for (let b = 0; b < 9; b++, src += 16) {
          storeTransposed(taps() + (<usize>b << 6), v128.load(src), v128.load(src + rowBytes), v128.load(src + 2 * rowBytes), v128.load(src + 3 * rowBytes));
        }
        for (let j = 0; j < 4; j++) transformFour(taps() + (<usize>(9 * j) << 4), t, gv, u + (<usize>(p * layerIn + (k + j) * MR) << 2), plane);
      }
    }
    for (; k < layerIn; k++) {
      const g0 = kernelOf(weight, layerIn, layerOut, p, k), g1 = kernelOf(weight, layerIn, layerOut, p + 1, k);
      const g2 = kernelOf(weight, layerIn, layerOut, p + 2, k), g3 = kernelOf(weight, layerIn, layerOut, p + 3, k);
      for (let i = 0; i < 9; i++) v128.store(taps() + (<usize>i << 4), tap(g0, g1, g2, g3, i));
      transformFour(taps(), t, gv, u + (<usize>(p * layerIn + k * MR) << 2), plane);
    }
  }
}

/** The nine taps of four kernels for transformFour (tap i at i * 16 bytes, one kernel per lane); 4 sets. */
const tapsAll = memory.data(((36 * 16 + COPY_ALIGN - 1) & ~(COPY_ALIGN - 1)) * MAX_THREADS, COPY_ALIGN);
/** This thread's copy (assembly/thread.ts). */
@inline function taps(): usize {
  return own(tapsAll, 36 * 16);
}

/**
 * U_t of four kernels, tap i of all four at src + 16 i, t = 0 .. 15 written to dst + t * stride. Row by
 * row of G g, held in registers: its rows 0 and 3 are g's rows 0 and 2, rows 1 and 2 half their sum
 * plus and minus g's row 1.
 */
@inline function transformFour(src: usize, t: i32, gv: v128, dst: usize, stride: usize): void {
  const half = f32x4.splat(0.5);
  const a0 = tfv(t, gv, v128.load(src)), a1 = tfv(t, gv, v128.load(src, 16)), a2 = tfv(t, gv, v128.load(src, 32));
  const b0 = tfv(t, gv, v128.load(src, 48)), b1 = tfv(t, gv, v128.load(src, 64)), b2 = tfv(t, gv, v128.load(src, 80));
  const d0 = tfv(t, gv, v128.load(src, 96)), d1 = tfv(t, gv, v128.load(src, 112)), d2 = tfv(t, gv, v128.load(src, 128));
  const row = <usize>4 * stride;
  storeRowOfU(dst, stride, a0, a1, a2);
  storeRowOfU(dst + row, stride, f32x4.mul(half, f32x4.add(f32x4.add(a0, b0), d0)), f32x4.mul(half, f32x4.add(f32x4.add(a1, b1), d1)), f32x4.mul(half, f32x4.add(f32x4.add(a2, b2), d2)));
  storeRowOfU(dst + 2 * row, stride, f32x4.mul(half, f32x4.add(f32x4.sub(a0, b0), d0)), f32x4.mul(half, f32x4.add(f32x4.sub(a1, b1), d1)), f32x4.mul(half, f32x4.add(f32x4.sub(a2, b2), d2)));
  storeRowOfU(dst + 3 * row, stride, d0, d1, d2);
}

/** A row (p, q, r) of G g times G^T: p, (p + q + r) / 2, (p - q + r) / 2, r, at dst + k * stride. */
@inline function storeRowOfU(dst: usize, stride: usize, p: v128, q: v128, r: v128): void {
  const half = f32x4.splat(0.5);
  v128.store(dst, p);
  v128.store(dst + stride, f32x4.mul(half, f32x4.add(f32x4.add(p, q), r)));
  v128.store(dst + 2 * stride, f32x4.mul(half, f32x4.add(f32x4.sub(p, q), r)));
  v128.store(dst + 3 * stride, r);
}

/** The 3x3 kernel of channel pair (co, ci); zeros past either end. */
@inline function kernelOf(weight: usize, layerIn: i32, layerOut: i32, co: i32, ci: i32): usize {
  if (co >= layerOut || ci >= layerIn) return zeroKernel;
  return weight + (<usize>((co * layerIn + ci) * 9) << 2);
}

/** Tap i of four kernels, one per lane. */
@inline function tap(g0: usize, g1: usize, g2: usize, g3: usize, i: i32): v128 {
  const o = <usize>i << 2;
  let v = f32x4.splat(load<f32>(g0 + o));
  v = f32x4.replace_lane(v, 1, load<f32>(g1 + o));
  v = f32x4.replace_lane(v, 2, load<f32>(g2 + o));
  return f32x4.replace_lane(v, 3, load<f32>(g3 + o));
}

/**
 * Plane of U that the transposed convolution uses for its plane t. Its kernel is the layer's rotated by
 * 180 degrees, g' = J g J, and G J = P G with P swapping rows 0 and 3, so U' = P U P^T: the same
 * planes with indices 0 and 3 swapped in both directions. The channel swap is the GEMM reading U
 * transposed. So the transposed pass uses the layer's own U, its planes renumbered.
 */
@inline function rotatedPlane(t: i32): i32 {
  const r = t >> 2, c = t & 3;
  return ((r == 0 ? 3 : r == 3 ? 0 : r) << 2) | (c == 0 ? 3 : c == 3 ? 0 : c);
}

/**
 * V_t = (B^T d B)[t] for tiles [t0, t0 + nt) of one image, written as the GEMM's packed B panels:
 * [t][panel of 8 tiles][ci][8]. Four tiles of one row whose patches lie inside the image are done in
 * one f32x4 pass (their columns gathered at stride 2 by shuffles); the others one at a time.
 */
function transformInput(x: usize, cin: i32, h: i32, w: i32, pt: i32, pl: i32, tilesW: i32, t0: i32, nt: i32, nb: i32, v: usize): void {
  const plane = planeStride(cin * nb);
  const row = <usize>w << 2;
  for (let ci = 0; ci < cin; ci++) {
    const src = x + (<usize>(ci * h * w) << 2);
    let j = 0;
    while (j < nt) {
      const tile = t0 + j;
      const ty = tile / tilesW, tx = tile % tilesW;
      const y0 = ty * 2 - pt, x0 = tx * 2 - pl;
      const dst = v + (<usize>(((j >> 3) * cin + ci) * 8 + (j & 7)) << 2);
      if ((j & 3) == 0 && j + 4 <= nt && tx + 4 <= tilesW && y0 >= 0 && y0 + 4 <= h && x0 >= 0 && x0 + 12 <= w) {
        let p = src + (<usize>(y0 * w + x0) << 2);
        // Rows of d for the four tiles: column c of tile l is x[x0 + 2l + c].
        let d00 = v128.splat<f32>(0), d01 = d00, d02 = d00, d03 = d00, d10 = d00, d11 = d00, d12 = d00, d13 = d00;
        let d20 = d00, d21 = d00, d22 = d00, d23 = d00, d30 = d00, d31 = d00, d32 = d00, d33 = d00;
        for (let r = 0; r < 4; r++, p += row) {
          const l0 = v128.load(p), l1 = v128.load(p, 16), l2 = v128.load(p, 32);
          const c0 = v128.shuffle<f32>(l0, l1, 0, 2, 4, 6);
          const c1 = v128.shuffle<f32>(l0, l1, 1, 3, 5, 7);
          const c2 = v128.shuffle<f32>(l0, v128.shuffle<f32>(l1, l2, 0, 2, 4, 6), 2, 4, 5, 6);
          const c3 = v128.shuffle<f32>(l0, v128.shuffle<f32>(l1, l2, 1, 3, 5, 7), 3, 4, 5, 6);
          if (r == 0) { d00 = c0; d01 = c1; d02 = c2; d03 = c3; }
          else if (r == 1) { d10 = c0; d11 = c1; d12 = c2; d13 = c3; }
          else if (r == 2) { d20 = c0; d21 = c1; d22 = c2; d23 = c3; }
          else { d30 = c0; d31 = c1; d32 = c2; d33 = c3; }
        }
        const a0 = f32x4.sub(d00, d20), a1 = f32x4.sub(d01, d21), a2 = f32x4.sub(d02, d22), a3 = f32x4.sub(d03, d23);
        const b0 = f32x4.add(d10, d20), b1 = f32x4.add(d11, d21), b2 = f32x4.add(d12, d22), b3 = f32x4.add(d13, d23);
        const e0 = f32x4.sub(d20, d10), e1 = f32x4.sub(d21, d11), e2 = f32x4.sub(d22, d12), e3 = f32x4.sub(d23, d13);
        const g0 = f32x4.sub(d10, d30), g1 = f32x4.sub(d11, d31), g2 = f32x4.sub(d12, d32), g3 = f32x4.sub(d13, d33);
        v128.store(dst, f32x4.sub(a0, a2)); v128.store(dst + plane, f32x4.add(a1, a2)); v128.store(dst + 2 * plane, f32x4.sub(a2, a1)); v128.store(dst + 3 * plane, f32x4.sub(a1, a3));
        v128.store(dst + 4 * plane, f32x4.sub(b0, b2)); v128.store(dst + 5 * plane, f32x4.add(b1, b2)); v128.store(dst + 6 * plane, f32x4.sub(b2, b1)); v128.store(dst + 7 * plane, f32x4.sub(b1, b3));
        v128.store(dst + 8 * plane, f32x4.sub(e0, e2)); v128.store(dst + 9 * plane, f32x4.add(e1, e2)); v128.store(dst + 10 * plane, f32x4.sub(e2, e1)); v128.store(dst + 11 * plane, f32x4.sub(e1, e3));
        v128.store(dst + 12 * plane, f32x4.sub(g0, g2)); v128.store(dst + 13 * plane, f32x4.add(g1, g2)); v128.store(dst + 14 * plane, f32x4.sub(g2, g1)); v128.store(dst + 15 * plane, f32x4.sub(g1, g3));
        j += 4;
        continue;
      }
      for (let r = 0; r < 4; r++) {
        const yy = y0 + r;
        for (let c = 0; c < 4; c++) {
          const xx = x0 + c;
          store<f32>(patch() + (<usize>(r * 4 + c) << 2), yy >= 0 && yy < h && xx >= 0 && xx < w ? load<f32>(src + (<usize>(yy * w + xx) << 2)) : 0);
        }
      }
      const d00 = load<f32>(patch(), 0), d01 = load<f32>(patch(), 4), d02 = load<f32>(patch(), 8), d03 = load<f32>(patch(), 12);
      const d10 = load<f32>(patch(), 16), d11 = load<f32>(patch(), 20), d12 = load<f32>(patch(), 24), d13 = load<f32>(patch(), 28);
      const d20 = load<f32>(patch(), 32), d21 = load<f32>(patch(), 36), d22 = load<f32>(patch(), 40), d23 = load<f32>(patch(), 44);
      const d30 = load<f32>(patch(), 48), d31 = load<f32>(patch(), 52), d32 = load<f32>(patch(), 56), d33 = load<f32>(patch(), 60);
      // B^T d: rows.
      const a0 = d00 - d20, a1 = d01 - d21, a2 = d02 - d22, a3 = d03 - d23;
      const b0 = d10 + d20, b1 = d11 + d21, b2 = d12 + d22, b3 = d13 + d23;
      const c0 = d20 - d10, c1 = d21 - d11, c2 = d22 - d12, c3 = d23 - d13;
      const e0 = d10 - d30, e1 = d11 - d31, e2 = d12 - d32, e3 = d13 - d33;
      // (B^T d) B: columns; V[t] for t = 4 * row + column.
      store<f32>(dst, a0 - a2); store<f32>(dst + plane, a1 + a2); store<f32>(dst + 2 * plane, a2 - a1); store<f32>(dst + 3 * plane, a1 - a3);
      store<f32>(dst + 4 * plane, b0 - b2); store<f32>(dst + 5 * plane, b1 + b2); store<f32>(dst + 6 * plane, b2 - b1); store<f32>(dst + 7 * plane, b1 - b3);
      store<f32>(dst + 8 * plane, c0 - c2); store<f32>(dst + 9 * plane, c1 + c2); store<f32>(dst + 10 * plane, c2 - c1); store<f32>(dst + 11 * plane, c1 - c3);
      store<f32>(dst + 12 * plane, e0 - e2); store<f32>(dst + 13 * plane, e1 + e2); store<f32>(dst + 14 * plane, e2 - e1); store<f32>(dst + 15 * plane, e1 - e3);
      j++;
    }
  }
}

const patchAll = memory.data(((16 * 4 + COPY_ALIGN - 1) & ~(COPY_ALIGN - 1)) * MAX_THREADS, COPY_ALIGN);
/** This thread's copy (assembly/thread.ts). */
@inline function patch(): usize {
  return own(patchAll, 16 * 4);
}

/**
 * y tiles of channels [co0, co1) from M[t][co][j] (summed over ci): A^T M A, plus bias, then ReLU,
 * stored through the epilogue (mode, operand at y + delta, eps); four tiles at once.
 */
function transformOutput(m: usize, cout: i32, co0: i32, co1: i32, ho: i32, wo: i32, tilesW: i32, t0: i32, nt: i32, nb: i32, bias: usize, relu: bool, top: f32, y: usize, mode: i32, delta: usize, eps: f32): void {
  const plane = planeStride(cout * nb);
  const zero = f32x4.splat(0), e = f32x4.splat(eps), topv = f32x4.splat(top);
  for (let co = co0; co < co1; co++) {
    const bv = f32x4.splat(bias != 0 ? load<f32>(bias + (<usize>co << 2)) : 0);
    const out = y + (<usize>(co * ho * wo) << 2);
    for (let j = 0; j < nt; j += 4) {
      const src = m + (<usize>(co * nb + j) << 2);
      const m00 = v128.load(src), m01 = v128.load(src + plane), m02 = v128.load(src + 2 * plane), m03 = v128.load(src + 3 * plane);
      const m10 = v128.load(src + 4 * plane), m11 = v128.load(src + 5 * plane), m12 = v128.load(src + 6 * plane), m13 = v128.load(src + 7 * plane);
      const m20 = v128.load(src + 8 * plane), m21 = v128.load(src + 9 * plane), m22 = v128.load(src + 10 * plane), m23 = v128.load(src + 11 * plane);
      const m30 = v128.load(src + 12 * plane), m31 = v128.load(src + 13 * plane), m32 = v128.load(src + 14 * plane), m33 = v128.load(src + 15 * plane);
      // A^T m: two rows, then times A.
      const s0 = f32x4.add(f32x4.add(m00, m10), m20), s1 = f32x4.add(f32x4.add(m01, m11), m21);
      const s2 = f32x4.add(f32x4.add(m02, m12), m22), s3 = f32x4.add(f32x4.add(m03, m13), m23);
      const r0 = f32x4.sub(f32x4.sub(m10, m20), m30), r1 = f32x4.sub(f32x4.sub(m11, m21), m31);
      const r2 = f32x4.sub(f32x4.sub(m12, m22), m32), r3 = f32x4.sub(f32x4.sub(m13, m23), m33);
      let y00 = f32x4.add(f32x4.add(f32x4.add(s0, s1), s2), bv), y01 = f32x4.add(f32x4.sub(f32x4.sub(s1, s2), s3), bv);
      let y10 = f32x4.add(f32x4.add(f32x4.add(r0, r1), r2), bv), y11 = f32x4.add(f32x4.sub(f32x4.sub(r1, r2), r3), bv);
      if (relu) {
        y00 = reluTo(y00, zero, topv); y01 = reluTo(y01, zero, topv); y10 = reluTo(y10, zero, topv); y11 = reluTo(y11, zero, topv);
      }
      const tile = t0 + j;
      const ty = tile / tilesW, tx = tile % tilesW;
      const oy = ty * 2, ox = tx * 2;
      if (j + 4 <= nt && tx + 4 <= tilesW && ox + 8 <= wo && oy + 2 <= ho) {
        // Four tiles side by side: each output row is y.0, y.1 interleaved.
        const p = out + (<usize>(oy * wo + ox) << 2);
        put4(p, v128.shuffle<f32>(y00, y01, 0, 4, 1, 5), mode, delta, e);
        put4(p + 16, v128.shuffle<f32>(y00, y01, 2, 6, 3, 7), mode, delta, e);
        const q = p + (<usize>wo << 2);
        put4(q, v128.shuffle<f32>(y10, y11, 0, 4, 1, 5), mode, delta, e);
        put4(q + 16, v128.shuffle<f32>(y10, y11, 2, 6, 3, 7), mode, delta, e);
        continue;
      }
      v128.store(lanes(), y00);
      v128.store(lanes(), y01, 16);
      v128.store(lanes(), y10, 32);
      v128.store(lanes(), y11, 48);
      for (let l = 0; l < 4 && j + l < nt; l++) {
        const tl = tile + l;
        const oyl = (tl / tilesW) * 2, oxl = (tl % tilesW) * 2;
        const p = out + (<usize>(oyl * wo + oxl) << 2);
        put1(p, load<f32>(lanes() + (<usize>l << 2)), mode, delta, eps);
        if (oxl + 1 < wo) put1(p + 4, load<f32>(lanes() + (<usize>(4 + l) << 2)), mode, delta, eps);
        if (oyl + 1 < ho) {
          const q = p + (<usize>wo << 2);
          put1(q, load<f32>(lanes() + (<usize>(8 + l) << 2)), mode, delta, eps);
          if (oxl + 1 < wo) put1(q + 4, load<f32>(lanes() + (<usize>(12 + l) << 2)), mode, delta, eps);
        }
      }
    }
  }
}

const lanesAll = memory.data(((16 * 4 + COPY_ALIGN - 1) & ~(COPY_ALIGN - 1)) * MAX_THREADS, COPY_ALIGN);
/** This thread's copy (assembly/thread.ts). */
@inline function lanes(): usize {
  return own(lanesAll, 16 * 4);
}

/**
 * y = t(W) * x + t'(b) (ReLU) through the epilogue, for a batch, NCHW, by Winograd F(2x2, 3x3). u
 * holds the layer's U of t(W) (winograd_weights_size floats), computed here first unless uReady (one
 * part only). With `transposed`, geom is the geometry of a layer's transposed convolution (src/wasm/
 * conv-plan.ts: itself a 3x3 stride-1 convolution of dy with the rotated kernel, the channels swapped,
 * padded 2 - p) and `weight` and u the layer's: the result is its transposed convolution.
 *
 * Part `part` of `parts`, as the plan's split says: the blocks of the batch's 8-tile panels (up to nb
 * tiles within an image) in G_CHUNKS chunks claimed from `queue`, or a fixed share of the output
 * channels, every part transforming the whole input. Each part uses its own winograd_scratch(geom)
 * bytes at scratch + part * that.
 */
export function conv_winograd(geom: usize, x: usize, weight: usize, bias: usize, y: usize, scratch: usize, u: usize, uReady: bool, transposed: bool, part: i32, parts: i32, queue: usize): void {
  scratch += <usize>part * winograd_scratch(geom);
  const batch = gi(geom, G_BATCH), cin = gi(geom, G_CIN), h = gi(geom, G_H), w = gi(geom, G_W);
  const cout = gi(geom, G_COUT), ho = gi(geom, G_HO), wo = gi(geom, G_WO);
  const pt = gi(geom, G_PT), pl = gi(geom, G_PL);
  const tW = gi(geom, G_TW), tB = gi(geom, G_TB);
  const relu = gi(geom, G_RELU) != 0, top = gf(geom, G_RELU_TOP);
  const mode = gi(geom, G_EPI), eps = gf(geom, G_EPI_EPS);
  // The operand has y's layout: one distance from every output, wrapping for either sign.
  const delta = <usize>gi(geom, G_EPI_OPERAND) - y;
  const biasT = align16(scratch);
  const v = align16(biasT + (<usize>cout << 2));
  const nb = blockTiles(ho, wo);
  const m = align16(v + 16 * planeStride(cin * nb));
  const ap = align16(m + 16 * planeStride(cout * nb));
  const useBias = bias != 0 && tB >= 0;
  if (useBias) {
    const gB = gf(geom, G_GAMMA_B);
    for (let co = 0; co < cout; co++) store<f32>(biasT + (<usize>co << 2), tf(tB, gB, load<f32>(bias + (<usize>co << 2))));
  }
  // Transposed, the geometry's channels are swapped: the layer's weight is [cin][cout] in its terms.
  const layerOut = transposed ? cin : cout, layerIn = transposed ? cout : cin;
  if (!uReady) {
    // Several parts would each write U while others read it: the caller transforms it first.
    if (parts > 1) unreachable();
    transformWeights(weight, layerIn, layerOut, tW, gf(geom, G_GAMMA_W), u);
  }
  const tilesW = (wo + 1) >> 1, tiles = ((ho + 1) >> 1) * tilesW;
  const uPlane = packedPlane(layerIn, layerOut), vPlane = planeStride(cin * nb), mPlane = planeStride(cout * nb);
  const byBlocks = gi(geom, G_SPLIT) == S_BLOCKS;
  const co0 = byBlocks ? 0 : shareBegin(cout, MR, part, parts), co1 = byBlocks ? cout : shareBegin(cout, MR, part + 1, parts);
  if (co0 >= co1) return;
  const b = blocks(byBlocks ? queue : 0, byBlocks ? gi(geom, G_CHUNKS) : 1, batch, tiles, 8, nb);
  while (b.next()) {
    const n = b.image, t0 = b.first, nt = b.length;
    const xn = x + (<usize>(n * cin * h * w) << 2);
    const yn = y + (<usize>(n * cout * ho * wo) << 2);
    transformInput(xn, cin, h, w, pt, pl, tilesW, t0, nt, nb, v);
    for (let t = 0; t < 16; t++) {
      const vt = v + <usize>t * vPlane, mt = m + <usize>t * mPlane;
      if (transposed) gemmPackedTransposed(u + <usize>rotatedPlane(t) * uPlane, cout, co0, co1, cin, vt, nt, mt, nb, ap);
      else gemmPacked(u + <usize>t * uPlane, co0, co1, cin, vt, nt, mt, nb);
    }
    transformOutput(m, cout, co0, co1, ho, wo, tilesW, t0, nt, nb, useBias ? biasT : 0, relu, top, yn, mode, delta, eps);
  }
}

/**
 * U of a transformed weight (t, gamma) for a layer [layerOut][layerIn][3][3], made before the parts of a
 * threaded pass read it; share `part` of `parts`: the output channels, in MR-row panels.
 */
export function winograd_weights_transformed(weight: usize, layerIn: i32, layerOut: i32, t: i32, gamma: f32, u: usize, part: i32, parts: i32): void {
  transformWeights(weight, layerIn, layerOut, t, gamma, u, shareBegin(layerOut, MR, part, parts), shareBegin(layerOut, MR, part + 1, parts));
}
