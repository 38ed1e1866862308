// Elementwise steps of the rules, four lanes at a time with a scalar tail. Buffers may alias.
import { stabDiv, stabDivScalar } from './epilogue';
import { storeTransposed } from './gemm';
import { shareBegin } from './thread';

// Binary (OP_*) and unary (U_*) codes are generated from scripts/kernel-constants.mjs. OP_MAC
// accumulates: out = out + a * b.
import { OP_ADD, OP_ADD_RELU, OP_SUB, OP_MUL, U_POS, U_NEG, U_SCALE } from './constants.generated';

/**
 * The passes over a whole activation take a share (part of parts) of its n values, aligned to whole
 * vectors: the plan splits large ones across threads (src/wasm/elementwise-run.ts).
 */
@inline function shareStart(n: i32, part: i32, parts: i32): i32 {
  return shareBegin(n, 4, part, parts);
}

export function binary(op: i32, a: usize, b: usize, out: usize, n: i32, part: i32, parts: i32): void {
  const i0 = shareStart(n, part, parts), off0 = <usize>i0 << 2;
  binaryRun(op, a + off0, b + off0, out + off0, shareStart(n, part + 1, parts) - i0);
}

function binaryRun(op: i32, a: usize, b: usize, out: usize, n: i32): void {
  const zero = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const off = <usize>i << 2;
    const x = v128.load(a + off), y = v128.load(b + off);
    v128.store(out + off, op == OP_ADD ? f32x4.add(x, y) : op == OP_ADD_RELU ? f32x4.pmax(f32x4.add(x, y), zero) : op == OP_SUB ? f32x4.sub(x, y) : op == OP_MUL ? f32x4.mul(x, y) : f32x4.add(v128.load(out + off), f32x4.mul(x, y)));
  }
  for (; i < n; i++) {
    const off = <usize>i << 2;
    const x = load<f32>(a + off), y = load<f32>(b + off);
    const s = x + y;
    store<f32>(out + off, op == OP_ADD ? s : op == OP_ADD_RELU ? (s > 0 ? s : 0) : op == OP_SUB ? x - y : op == OP_MUL ? x * y : load<f32>(out + off) + x * y);
  }
}

// Unary ops: positive part, negative part, scale by k, fill with k.
export function unary(op: i32, a: usize, out: usize, n: i32, k: f32): void {
  const zero = f32x4.splat(0), kv = f32x4.splat(k);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const off = <usize>i << 2;
    const x = v128.load(a + off);
    v128.store(out + off, op == U_POS ? f32x4.pmax(x, zero) : op == U_NEG ? f32x4.pmin(x, zero) : op == U_SCALE ? f32x4.mul(x, kv) : kv);
  }
  for (; i < n; i++) {
    const off = <usize>i << 2;
    const x = load<f32>(a + off);
    store<f32>(out + off, op == U_POS ? (x > 0 ? x : 0) : op == U_NEG ? (x < 0 ? x : 0) : op == U_SCALE ? x * k : k);
  }
}

/** out = R / stab(z); eps = 0: exact, 0 where z = 0. */
export function div_stab(R: usize, z: usize, out: usize, n: i32, eps: f32): void {
  const e = f32x4.splat(eps);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const off = <usize>i << 2;
    v128.store(out + off, stabDiv(v128.load(R + off), v128.load(z + off), e));
  }
  for (; i < n; i++) {
    const off = <usize>i << 2;
    store<f32>(out + off, stabDivScalar(load<f32>(R + off), load<f32>(z + off), eps));
  }
}

/**
 * Norm's split of a sum of two inputs: s = R / stab(z), out1 = a1 * s and out2 = a2 * s, each added to
 * what its out holds when acc1 / acc2. One pass instead of a divide and two products. z = 0 (no
 * address): z is a1 + a2, a sum whose value was not kept, added here as its forward added it.
 */
export function split_sum(R: usize, z: usize, eps: f32, a1: usize, out1: usize, acc1: bool, a2: usize, out2: usize, acc2: bool, n: i32, part: i32, parts: i32): void {
  const i0 = shareStart(n, part, parts), o = <usize>i0 << 2;
  splitSumRun(R + o, z ? z + o : 0, eps, a1 + o, out1 + o, acc1, a2 + o, out2 + o, acc2, shareStart(n, part + 1, parts) - i0);
}

function splitSumRun(R: usize, z: usize, eps: f32, a1: usize, out1: usize, acc1: bool, a2: usize, out2: usize, acc2: bool, n: i32): void {
  const e = f32x4.splat(eps);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const off = <usize>i << 2;
    const x1 = v128.load(a1 + off), x2 = v128.load(a2 + off);
    const s = stabDiv(v128.load(R + off), z ? v128.load(z + off) : f32x4.add(x1, x2), e);
    const r1 = f32x4.mul(x1, s), r2 = f32x4.mul(x2, s);
    v128.store(out1 + off, acc1 ? f32x4.add(v128.load(out1 + off), r1) : r1);
    v128.store(out2 + off, acc2 ? f32x4.add(v128.load(out2 + off), r2) : r2);
  }
  for (; i < n; i++) {
    const off = <usize>i << 2;
    const x1 = load<f32>(a1 + off), x2 = load<f32>(a2 + off);
    const s = stabDivScalar(load<f32>(R + off), z ? load<f32>(z + off) : x1 + x2, eps);
    const r1 = x1 * s, r2 = x2 * s;
    store<f32>(out1 + off, acc1 ? load<f32>(out1 + off) + r1 : r1);
    store<f32>(out2 + off, acc2 ? load<f32>(out2 + off) + r2 : r2);
  }
}

/** out = a where mask > 0, else 0 (ReLU's gradient, with mask = the ReLU's input or output). */
export function relu_mask(a: usize, mask: usize, out: usize, n: i32): void {
  const zero = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const off = <usize>i << 2;
    v128.store(out + off, v128.and(v128.load(a + off), f32x4.gt(v128.load(mask + off), zero)));
  }
  for (; i < n; i++) {
    const off = <usize>i << 2;
    store<f32>(out + off, load<f32>(mask + off) > 0 ? load<f32>(a + off) : 0);
  }
}

/** out = a (n floats; the ranges may overlap). */
export function copy(a: usize, out: usize, n: i32): void {
  memory.copy(out, a, <usize>n << 2);
}

/**
 * dst = src^T, src a row-major rows x cols matrix: 4 x 4 blocks turned in registers (a transformer's
 * tokens to and from the channel-major layout of the GEMM kernels, a head's factors).
 */
export function transpose(src: usize, dst: usize, rows: i32, cols: i32): void {
  const r4 = rows & ~3, c4 = cols & ~3;
  const inRow = <usize>cols << 2, outRow = <usize>rows << 2;
  for (let r = 0; r < r4; r += 4) {
    const from = src + <usize>r * inRow;
    for (let c = 0; c < c4; c += 4) {
      const at = from + (<usize>c << 2);
      storeTransposed(dst + <usize>c * outRow + (<usize>r << 2), v128.load(at), v128.load(at + inRow), v128.load(at + 2 * inRow), v128.load(at + 3 * inRow), outRow);
    }
    for (let c = c4; c < cols; c++) {
      for (let i = 0; i < 4; i++) store<f32>(dst + <usize>c * outRow + (<usize>(r + i) << 2), load<f32>(from + <usize>i * inRow + (<usize>c << 2)));
    }
  }
  for (let r = r4; r < rows; r++) {
    for (let c = 0; c < cols; c++) store<f32>(dst + <usize>c * outRow + (<usize>r << 2), load<f32>(src + <usize>r * inRow + (<usize>c << 2)));
  }
}

/** n floats from src to dst, short runs (a transposed head's single values) without a call. */
@inline function moveFloats(src: usize, dst: usize, n: i32): void {
  if (n < 8) {
    for (let i = 0; i < n; i++) store<f32>(dst + (<usize>i << 2), load<f32>(src + (<usize>i << 2)));
  } else memory.copy(dst, src, <usize>n << 2);
}

/**
 * A move (src/ops/rearrange.ts: Transpose, Slice, Take, ConstantConcat) by its runs: `count` triples
 * [to, from, length] of i32, each `length` outputs from `to` on copied from input `from` on, or from
 * float -1 - from on of `constant`; for each of `batch` samples of inN inputs and n outputs.
 */
export function gather_runs(x: usize, y: usize, runs: usize, count: i32, constant: usize, batch: i32, inN: i32, n: i32): void {
  for (let b = 0; b < batch; b++) {
    const src = x + ((<usize>b * <usize>inN) << 2), dst = y + ((<usize>b * <usize>n) << 2);
    for (let r = 0; r < count; r++) {
      const at = runs + <usize>r * 12;
      const to = load<i32>(at), from = load<i32>(at, 4), length = load<i32>(at, 8);
      moveFloats(from >= 0 ? src + (<usize>from << 2) : constant + (<usize>(-1 - from) << 2), dst + (<usize>to << 2), length);
    }
  }
}

/**
 * The gradient of a gather by the same runs: each input value gets the output it went to (each feeds at
 * most one), the others (a slice's dropped values) 0; the constant's runs go nowhere.
 */
export function scatter_runs(dy: usize, dx: usize, runs: usize, count: i32, batch: i32, inN: i32, n: i32): void {
  memory.fill(dx, 0, (<usize>batch * <usize>inN) << 2);
  for (let b = 0; b < batch; b++) {
    const src = dy + ((<usize>b * <usize>n) << 2), dst = dx + ((<usize>b * <usize>inN) << 2);
    for (let r = 0; r < count; r++) {
      const at = runs + <usize>r * 12;
      const to = load<i32>(at), from = load<i32>(at, 4), length = load<i32>(at, 8);
      if (from >= 0) moveFloats(src + (<usize>to << 2), dst + (<usize>from << 2), length);
    }
  }
}

/**
 * For each of `planes` planes, the h x w window at row sr, column sc of src (planes of srcH x srcW)
 * copied to row dr, column dc of dst (planes of dstH x dstW): a box cut out of a feature map, or put back.
 */
export function copy_window(src: usize, srcH: i32, srcW: i32, sr: i32, sc: i32, dst: usize, dstH: i32, dstW: i32, dr: i32, dc: i32, planes: i32, h: i32, w: i32): void {
  const bytes = <usize>w << 2;
  for (let p = 0; p < planes; p++) {
    for (let i = 0; i < h; i++) {
      memory.copy(dst + (<usize>((p * dstH + dr + i) * dstW + dc) << 2), src + (<usize>((p * srcH + sr + i) * srcW + sc) << 2), bytes);
    }
  }
}

/** out = max(a, 0) */
export function relu(a: usize, out: usize, n: i32, part: i32, parts: i32): void {
  const i0 = shareStart(n, part, parts), o = <usize>i0 << 2;
  unary(U_POS, a + o, out + o, shareStart(n, part + 1, parts) - i0, 0);
}

/** Per-channel out = a * scale[c] + shift[c] (shift may be 0), channel = (i / plane) % channels. */
export function channel_affine(a: usize, scale: usize, shift: usize, out: usize, n: i32, plane: i32, channels: i32): void {
  for (let i = 0; i < n; i++) {
    const c = (i / plane) % channels;
    const off = <usize>i << 2;
    const s = load<f32>(scale + (<usize>c << 2));
    const b = shift != 0 ? load<f32>(shift + (<usize>c << 2)) : <f32>0;
    store<f32>(out + off, load<f32>(a + off) * s + b);
  }
}

/** Zero padding (crop = 0: x -> padded y) or its inverse (crop = 1: padded y -> x), per plane. */
export function pad_crop(src: usize, dst: usize, crop: bool, planes: i32, h: i32, w: i32, pt: i32, pl: i32, pb: i32, pr: i32): void {
  const H = h + pt + pb, W = w + pl + pr;
  if (!crop) memory.fill(dst, 0, <usize>(planes * H * W) << 2);
  for (let p = 0; p < planes; p++) {
    for (let i = 0; i < h; i++) {
      const small = (<usize>((p * h + i) * w)) << 2;
      const big = (<usize>((p * H + i + pt) * W + pl)) << 2;
      if (crop) memory.copy(dst + small, src + big, <usize>w << 2);
      else memory.copy(dst + big, src + small, <usize>w << 2);
    }
  }
}

/** Sum of n floats in float64 (layer reports, conservation checks). */
export function sum(a: usize, n: i32): f64 {
  let s: f64 = 0;
  for (let i = 0; i < n; i++) s += <f64>load<f32>(a + (<usize>i << 2));
  return s;
}

/** Smallest a_i (+Infinity for n = 0): whether an input has negative elements, for sign-aware rules. */
export function min_value(a: usize, n: i32): f32 {
  let m = f32x4.splat(Infinity);
  let i = 0;
  for (; i + 4 <= n; i += 4) m = f32x4.min(m, v128.load(a + (<usize>i << 2)));
  let s = min(min(f32x4.extract_lane(m, 0), f32x4.extract_lane(m, 1)), min(f32x4.extract_lane(m, 2), f32x4.extract_lane(m, 3)));
  for (; i < n; i++) s = min(s, load<f32>(a + (<usize>i << 2)));
  return s;
}

/** out[p, i] = a[p, i] * s[p]: each of `planes` planes of `plane` floats scaled by its own factor (a gate). */
export function plane_scale(a: usize, s: usize, out: usize, planes: i32, plane: i32): void {
  for (let p = 0; p < planes; p++) {
    const k = f32x4.splat(load<f32>(s + (<usize>p << 2)));
    const base = <usize>(p * plane) << 2;
    let i = 0;
    for (; i + 4 <= plane; i += 4) {
      const off = base + (<usize>i << 2);
      v128.store(out + off, f32x4.mul(v128.load(a + off), k));
    }
    for (; i < plane; i++) {
      const off = base + (<usize>i << 2);
      store<f32>(out + off, load<f32>(a + off) * load<f32>(s + (<usize>p << 2)));
    }
  }
}

/** out[p] = sum_i a[p, i] * b[p, i] over each of `planes` planes (a gate's gradient). */
export function plane_dot(a: usize, b: usize, out: usize, planes: i32, plane: i32): void {
  for (let p = 0; p < planes; p++) {
    const base = <usize>(p * plane) << 2;
    let acc: f64 = 0;
    for (let i = 0; i < plane; i++) {
      const off = base + (<usize>i << 2);
      acc += <f64>load<f32>(a + off) * <f64>load<f32>(b + off);
    }
    store<f32>(out + (<usize>p << 2), <f32>acc);
  }
}

/**
 * Concatenation along channels of one input into out, per sample: `rows` rows (samples) of `n` floats
 * from src (row stride n) to dst (row stride `stride`), or back (`split`: dst rows to src).
 */
export function strided_copy(src: usize, dst: usize, rows: i32, n: i32, stride: i32, split: bool): void {
  for (let r = 0; r < rows; r++) {
    const s = src + (<usize>(r * n) << 2), d = dst + (<usize>(r * stride) << 2);
    if (split) memory.copy(s, d, <usize>n << 2);
    else memory.copy(d, s, <usize>n << 2);
  }
}

/**
 * The gamma rule's quotients in one pass (src/rules/gamma.ts): where z > 0, s = R / stab(z + g q),
 * a = s, d = g s; where z < 0, s = R / stab(z + g (z - q)), a = (1 + g) s, d = -g s; else 0.
 */
export function gamma_quotients(R: usize, z: usize, q: usize, a: usize, d: usize, n: i32, g: f32, eps: f32): void {
  const e = f32x4.splat(eps), gv = f32x4.splat(g), g1 = f32x4.splat(1 + g), zero = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const off = <usize>i << 2;
    const zv = v128.load(z + off), qv = v128.load(q + off);
    const up = f32x4.gt(zv, zero), down = f32x4.lt(zv, zero);
    const den = v128.bitselect(f32x4.add(zv, f32x4.mul(gv, qv)), f32x4.add(zv, f32x4.mul(gv, f32x4.sub(zv, qv))), up);
    const s = v128.and(stabDiv(v128.load(R + off), den, e), v128.or(up, down));
    v128.store(a + off, v128.bitselect(s, f32x4.mul(g1, s), up));
    v128.store(d + off, f32x4.mul(v128.bitselect(gv, f32x4.neg(gv), up), s));
  }
  for (; i < n; i++) {
    const off = <usize>i << 2;
    const zv = load<f32>(z + off), qv = load<f32>(q + off);
    const s = zv != 0 ? stabDivScalar(load<f32>(R + off), zv > 0 ? zv + g * qv : zv + g * (zv - qv), eps) : <f32>0;
    store<f32>(a + off, zv > 0 ? s : (1 + g) * s);
    store<f32>(d + off, zv > 0 ? g * s : -g * s);
  }
}

/** 1 if R_i = 0 wherever z_i <= 0 (relevance that came through a ReLU), else 0. */
export function only_where_positive(R: usize, z: usize, n: i32): i32 {
  const zero = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const off = <usize>i << 2;
    if (v128.any_true(v128.and(f32x4.ne(v128.load(R + off), zero), f32x4.le(v128.load(z + off), zero)))) return 0;
  }
  for (; i < n; i++) {
    const off = <usize>i << 2;
    if (load<f32>(R + off) != 0 && load<f32>(z + off) <= 0) return 0;
  }
  return 1;
}

/**
 * w[c, i] = f32(f64(w[c, i]) * scale[c]) in place, for `channels` runs of `per` floats: a BatchNorm
 * folded into the layer before it as the reference folds it (a float64 product rounded to float32,
 * as JavaScript's Float32Array store rounds), two values a vector. ResNet-50's upload took 230 ms
 * with this loop in JavaScript, 88 ms with it here.
 */
export function scale_channels(w: usize, scale: usize, channels: i32, per: i32): void {
  for (let c = 0; c < channels; c++) {
    const s = load<f64>(scale + (<usize>c << 3));
    const sv = f64x2.splat(s);
    let p = w + (<usize>(c * per) << 2);
    const end = p + (<usize>per << 2);
    for (; p + 16 <= end; p += 16) {
      const v = v128.load(p);
      const lo = f32x4.demote_f64x2_zero(f64x2.mul(f64x2.promote_low_f32x4(v), sv));
      const hi = f32x4.demote_f64x2_zero(f64x2.mul(f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1)), sv));
      v128.store(p, v128.shuffle<f32>(lo, hi, 0, 1, 4, 5));
    }
    for (; p < end; p += 4) store<f32>(p, <f32>(<f64>load<f32>(p) * s));
  }
}
