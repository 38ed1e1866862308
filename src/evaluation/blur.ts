/**
 * RISE's blurred substrate (Petsiuk et al. 2018, evaluation.py gkern and the notebook's blur): an 11 x
 * 11 kernel, scipy.ndimage.gaussian_filter (sigma 5, truncate 4, mode 'reflect') of a centred delta, so
 * the outer product of a 41-tap Gaussian folded back into 11 cells (nearly flat: 0.0880 at the ends,
 * 0.0940 in the middle); applied to each channel alone as torch's conv2d with zero padding 5.
 */
export const BLUR_TAPS = 11;
export const BLUR_SIGMA = 5;

/** The kernel's 1-D factor: g with k = g g^T. */
export function blurTaps(taps = BLUR_TAPS, sigma = BLUR_SIGMA): Float64Array {
  const radius = Math.floor(4 * sigma + 0.5);
  const w = Float64Array.from({ length: 2 * radius + 1 }, (_, j) => Math.exp(-((j - radius) ** 2) / (2 * sigma * sigma)));
  const total = w.reduce((s, v) => s + v, 0);
  const centre = taps >> 1;
  const g = new Float64Array(taps);
  // out[i] = sum_j w[j] in[reflect(i + j - radius)], in = the delta at the centre; 'reflect' is
  // half-sample symmetric (d c b a | a b c d), period 2 taps.
  for (let i = 0; i < taps; i++) {
    for (let j = 0; j < w.length; j++) {
      let p = (((i + j - radius) % (2 * taps)) + 2 * taps) % (2 * taps);
      if (p >= taps) p = 2 * taps - 1 - p;
      if (p === centre) g[i] += w[j] / total;
    }
  }
  return g;
}

/** A blurred copy of C x H x W images (n of them), each channel alone, zero beyond the edges. */
export function blur(x: Float32Array, n: number, [C, H, W]: readonly number[]): Float32Array {
  const g = blurTaps();
  const r = BLUR_TAPS >> 1;
  const out = new Float32Array(x.length);
  const rows = new Float64Array(H * W);
  for (let p = 0; p < n * C; p++) {
    const plane = x.subarray(p * H * W, (p + 1) * H * W);
    // k = g g^T is separable: along rows, then along columns (float64 sums, rounded once).
    for (let i = 0; i < H; i++) {
      for (let j = 0; j < W; j++) {
        let s = 0;
        for (let t = -r; t <= r; t++) if (j + t >= 0 && j + t < W) s += g[t + r] * plane[i * W + j + t];
        rows[i * W + j] = s;
      }
    }
    for (let i = 0; i < H; i++) {
      for (let j = 0; j < W; j++) {
        let s = 0;
        for (let t = -r; t <= r; t++) if (i + t >= 0 && i + t < H) s += g[t + r] * rows[(i + t) * W + j];
        out[p * H * W + i * W + j] = s;
      }
    }
  }
  return out;
}
