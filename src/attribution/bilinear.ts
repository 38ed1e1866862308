/**
 * Bilinear resizing of maps as PyTorch's F.interpolate(mode='bilinear', align_corners=False) with an
 * output size: a destination pixel d reads the source at s = max((d + 0.5) * in / out - 0.5, 0)
 * between floor(s) and the next pixel (clamped at the edge), weighted by the distance.
 */
export function resizeBilinear(maps: Float32Array, count: number, h: number, w: number, outH: number, outW: number): Float32Array {
  const out = new Float32Array(count * outH * outW);
  const ys = taps(h, outH);
  const xs = taps(w, outW);
  for (let m = 0; m < count; m++) {
    const src = m * h * w;
    for (let y = 0; y < outH; y++) {
      const [y0, y1, ly] = ys[y];
      for (let x = 0; x < outW; x++) {
        const [x0, x1, lx] = xs[x];
        const top = (1 - lx) * maps[src + y0 * w + x0] + lx * maps[src + y0 * w + x1];
        const bottom = (1 - lx) * maps[src + y1 * w + x0] + lx * maps[src + y1 * w + x1];
        out[m * outH * outW + y * outW + x] = (1 - ly) * top + ly * bottom;
      }
    }
  }
  return out;
}

/** For each destination index: the two source indices and the weight of the second. */
function taps(size: number, outSize: number): [number, number, number][] {
  const scale = size / outSize;
  return Array.from({ length: outSize }, (_, d) => {
    const s = Math.max((d + 0.5) * scale - 0.5, 0);
    const i0 = Math.min(Math.floor(s), size - 1);
    const i1 = Math.min(i0 + 1, size - 1);
    return [i0, i1, s - i0];
  });
}
