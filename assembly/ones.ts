// The convolution with all-ones weights (transform t = 1, the flat rule), done on one channel. Every
// output channel of sum_ci sum_taps 1 * x is the same, a box sum over the receptive field of the
// channel-summed input; and the transpose, sum_co sum_taps s, is the same for every input channel.
// So both run as a one-channel convolution, cin (or cout) times cheaper than the full GEMM.
import { EPI_NONE } from './epilogue';
import { align16, GEOM_SLOTS, G_BATCH, G_CIN, G_COUT, G_EPI, G_GAMMA_B, G_H, G_HO, G_KH, G_KW, G_RELU, G_RELU_TOP, G_TB, G_TW, G_W, G_WO, gf, gi } from './geometry';
import { tf, T_W } from './transform';
import { own, COPY_ALIGN } from './thread';
import { conv_gemm_forward, conv_gemm_scratch, conv_gemm_transpose } from './conv';
import { MAX_THREADS } from './constants.generated';
import { reluTo } from './gemm';

const ogeomAll = memory.data(((GEOM_SLOTS * 4 + COPY_ALIGN - 1) & ~(COPY_ALIGN - 1)) * MAX_THREADS, COPY_ALIGN);
/** This thread's copy (assembly/thread.ts). */
@inline function ogeom(): usize {
  return own(ogeomAll, GEOM_SLOTS * 4);
}

/**
 * The one-channel geometry, in ogeom(): one image, one channel in and out, plain weights, no bias. Its
 * layout and split are the plan's for this one-part call (src/wasm/conv-plan.ts).
 */
function oneChannel(geom: usize): usize {
  memory.copy(ogeom(), geom, GEOM_SLOTS << 2);
  store<i32>(ogeom() + (<usize>G_BATCH << 2), 1);
  store<i32>(ogeom() + (<usize>G_CIN << 2), 1);
  store<i32>(ogeom() + (<usize>G_COUT << 2), 1);
  store<i32>(ogeom() + (<usize>G_TW << 2), T_W);
  store<i32>(ogeom() + (<usize>G_TB << 2), -1);
  store<i32>(ogeom() + (<usize>G_RELU << 2), 0);
  store<i32>(ogeom() + (<usize>G_EPI << 2), EPI_NONE);
  return ogeom();
}

/** Scratch bytes of conv_ones_forward and conv_ones_transpose. */
export function conv_ones_scratch(geom: usize): usize {
  const planes = <usize>(gi(geom, G_H) * gi(geom, G_W) + gi(geom, G_HO) * gi(geom, G_WO) + gi(geom, G_KH) * gi(geom, G_KW));
  return (planes << 2) + 4 * 16 + conv_gemm_scratch(oneChannel(geom));
}

/** Sums `channels` planes of `n` floats into one. */
function sumPlanes(src: usize, channels: i32, n: i32, dst: usize): void {
  memory.fill(dst, 0, <usize>n << 2);
  for (let c = 0; c < channels; c++) {
    const p = src + (<usize>(c * n) << 2);
    let i = 0;
    for (; i + 4 <= n; i += 4) v128.store(dst + (<usize>i << 2), f32x4.add(v128.load(dst + (<usize>i << 2)), v128.load(p + (<usize>i << 2))));
    for (; i < n; i++) store<f32>(dst + (<usize>i << 2), load<f32>(dst + (<usize>i << 2)) + load<f32>(p + (<usize>i << 2)));
  }
}

/** Writes plane + t'(bias[c]) (then ReLU) into each of `channels` planes c. */
function broadcast(plane: usize, n: i32, channels: i32, bias: usize, tB: i32, gB: f32, relu: bool, top: f32, dst: usize): void {
  for (let c = 0; c < channels; c++) {
    const b = bias != 0 && tB >= 0 ? tf(tB, gB, load<f32>(bias + (<usize>c << 2))) : <f32>0;
    const bv = f32x4.splat(b);
    const d = dst + (<usize>(c * n) << 2);
    let i = 0;
    for (; i + 4 <= n; i += 4) {
      let v = f32x4.add(v128.load(plane + (<usize>i << 2)), bv);
      if (relu) v = reluTo(v, f32x4.splat(0), f32x4.splat(top));
      v128.store(d + (<usize>i << 2), v);
    }
    for (; i < n; i++) {
      const v = load<f32>(plane + (<usize>i << 2)) + b;
      store<f32>(d + (<usize>i << 2), relu ? min<f32>(v < 0 ? 0 : v, top) : v);
    }
  }
}

/** Writes the all-ones kernel at the start of the scratch; the two planes and the inner scratch follow. */
@inline function ones(geom: usize, scratch: usize): usize {
  const k = align16(scratch);
  const n = gi(geom, G_KH) * gi(geom, G_KW);
  for (let i = 0; i < n; i++) store<f32>(k + (<usize>i << 2), 1);
  return k;
}

/** y = 1 * x + t'(b) (ReLU): a GEMM convolution of one channel, on one part. No epilogue. */
export function conv_ones_forward(geom: usize, x: usize, bias: usize, y: usize, scratch: usize): void {
  const batch = gi(geom, G_BATCH), cin = gi(geom, G_CIN), cout = gi(geom, G_COUT);
  const hw = gi(geom, G_H) * gi(geom, G_W), howo = gi(geom, G_HO) * gi(geom, G_WO);
  const k = ones(geom, scratch);
  const xs = align16(k + (<usize>(gi(geom, G_KH) * gi(geom, G_KW)) << 2));
  const ys = align16(xs + (<usize>hw << 2));
  const inner = align16(ys + (<usize>howo << 2));
  const tB = gi(geom, G_TB), gB = gf(geom, G_GAMMA_B), relu = gi(geom, G_RELU) != 0, top = gf(geom, G_RELU_TOP);
  const g = oneChannel(geom);
  for (let n = 0; n < batch; n++) {
    sumPlanes(x + (<usize>(n * cin * hw) << 2), cin, hw, xs);
    conv_gemm_forward(g, xs, k, 0, ys, inner, 0, 1, 0);
    broadcast(ys, howo, cout, bias, tB, gB, relu, top, y + (<usize>(n * cout * howo) << 2));
  }
}

/** dx = 1^T dy: a GEMM transposed convolution of one channel, on one part. No epilogue. */
export function conv_ones_transpose(geom: usize, dy: usize, dx: usize, scratch: usize): void {
  const batch = gi(geom, G_BATCH), cin = gi(geom, G_CIN), cout = gi(geom, G_COUT);
  const hw = gi(geom, G_H) * gi(geom, G_W), howo = gi(geom, G_HO) * gi(geom, G_WO);
  const k = ones(geom, scratch);
  const ss = align16(k + (<usize>(gi(geom, G_KH) * gi(geom, G_KW)) << 2));
  const xs = align16(ss + (<usize>howo << 2));
  const inner = align16(xs + (<usize>hw << 2));
  const g = oneChannel(geom);
  for (let n = 0; n < batch; n++) {
    sumPlanes(dy + (<usize>(n * cout * howo) << 2), cout, howo, ss);
    conv_gemm_transpose(g, ss, k, xs, inner, 0, 1, 0);
    broadcast(xs, hw, cin, 0, -1, 0, false, 0, dx + (<usize>(n * cin * hw) << 2));
  }
}
