/**
 * SLIC superpixels as scikit-image's `slic` (v0.24, skimage/segmentation/slic_superpixels.py and
 * _slic.pyx) computes them with its defaults, ported because no maintained npm package has SLIC:
 * 1. the image is rescaled to [0, 1] by its global min and max (all channels together), and a 3-channel
 *    image converted to L*a*b*; colours are divided by the compactness (10);
 * 2. centres on a regular grid of step S = round(sqrt(H W / n)) starting at floor(sqrt(H W / n) / 2)
 *    (skimage's regular_grid: about n, not exactly n), with colour 0 (the first assignment is spatial);
 * 3. ten rounds of: each pixel within 2 S (by rows and by columns) of a centre takes the centre with the
 *    least (dy^2 + dx^2) / S^2 + |colour - centre colour|^2 (the earlier centre on ties), then each centre
 *    moves to the mean position and colour of its pixels;
 * 4. connectivity: a raster scan relabels each 4-connected component (breadth first, at most 3 H W / K
 *    pixels) and merges one smaller than H W / (2 K) into the last labelled neighbour it touched.
 * Labels are 0, 1, ... in raster order (skimage starts at 1). skimage's quirk is kept: a small first
 * component with no labelled neighbour keeps its label, which the next component then shares.
 */
import { rgbToLab } from './lab.js';

export interface SlicOptions {
  /** About how many superpixels (skimage's n_segments, default 100). */
  segments?: number;
  /** Weight of space against colour (default 10). */
  compactness?: number;
  /** k-means rounds (default 10). */
  iterations?: number;
}

/** Superpixels of an H x W image of `channels` values per pixel (channel-last): a label per pixel. */
export function slic(image: ArrayLike<number>, h: number, w: number, channels: number, options: SlicOptions = {}): Int32Array {
  const { segments = 100, compactness = 10, iterations = 10 } = options;
  const colours = coloursOf(image, h * w, channels, 1 / compactness);
  const grid = regularGrid(h, w, segments);
  const centres: number[][] = [];
  for (let y = grid.startY; y < h; y += grid.stepY) for (let x = grid.startX; x < w; x += grid.stepX) centres.push([y, x, ...new Array<number>(channels).fill(0)]);
  const K = centres.length;
  const step = Math.max(grid.stepY, grid.stepX);
  const spatial = 1 / (step * step);
  const nearest = new Int32Array(h * w);
  const distance = new Float64Array(h * w);
  for (let round = 0; round < iterations; round++) {
    distance.fill(Number.MAX_VALUE);
    for (let k = 0; k < K; k++) {
      const c = centres[k];
      const [cy, cx] = c;
      const y0 = Math.trunc(Math.max(cy - 2 * grid.stepY, 0));
      const y1 = Math.trunc(Math.min(cy + 2 * grid.stepY + 1, h));
      const x0 = Math.trunc(Math.max(cx - 2 * grid.stepX, 0));
      const x1 = Math.trunc(Math.min(cx + 2 * grid.stepX + 1, w));
      for (let y = y0; y < y1; y++) {
        const dy = (cy - y) ** 2;
        for (let x = x0; x < x1; x++) {
          const p = y * w + x;
          let d = (dy + (cx - x) ** 2) * spatial;
          for (let ch = 0; ch < channels; ch++) d += (colours[p * channels + ch] - c[2 + ch]) ** 2;
          if (distance[p] > d) {
            nearest[p] = k;
            distance[p] = d;
          }
        }
      }
    }
    // Means of each centre's pixels; a centre left with none becomes NaN, as in skimage, and wins no pixel.
    const sums = centres.map(() => new Float64Array(2 + channels));
    const counts = new Float64Array(K);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const p = y * w + x;
        const s = sums[nearest[p]];
        counts[nearest[p]]++;
        s[0] += y;
        s[1] += x;
        for (let ch = 0; ch < channels; ch++) s[2 + ch] += colours[p * channels + ch];
      }
    }
    sums.forEach((s, k) => {
      centres[k] = Array.from(s, (v) => v / counts[k]);
    });
  }
  const size = (h * w) / K;
  return connect(nearest, h, w, Math.trunc(0.5 * size), Math.trunc(3 * size));
}

/** Colours rescaled to [0, 1] together, in L*a*b* when there are 3 channels, times `ratio`. */
function coloursOf(image: ArrayLike<number>, pixels: number, channels: number, ratio: number): Float64Array {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < pixels * channels; i++) {
    lo = Math.min(lo, image[i]);
    hi = Math.max(hi, image[i]);
  }
  const span = hi !== lo ? hi - lo : 1;
  const out = new Float64Array(pixels * channels);
  for (let p = 0; p < pixels; p++) {
    const v = Array.from({ length: channels }, (_, c) => (image[p * channels + c] - lo) / span);
    const colour = channels === 3 ? rgbToLab(v[0], v[1], v[2]) : v;
    for (let c = 0; c < channels; c++) out[p * channels + c] = colour[c] * ratio;
  }
  return out;
}

/** skimage's regular_grid on a (1, h, w) volume: the start and step of the centres along each axis. */
export function regularGrid(h: number, w: number, n: number): { startY: number; stepY: number; startX: number; stepX: number } {
  if (h * w <= n) return { startY: 0, stepY: 1, startX: 0, stepX: 1 };
  const [short, long] = h <= w ? [h, w] : [w, h];
  let sShort = Math.sqrt((short * long) / n);
  let sLong = sShort;
  // An axis shorter than the step takes its whole length, and the other axis the rest.
  if (short < sShort) {
    sShort = short;
    sLong = long / n;
  }
  const [sy, sx] = h <= w ? [sShort, sLong] : [sLong, sShort];
  return { startY: Math.floor(sy / 2), stepY: Math.round(sy), startX: Math.floor(sx / 2), stepX: Math.round(sx) };
}

/** skimage's _enforce_label_connectivity_cython on one plane, labels from 0. */
function connect(labels: Int32Array, h: number, w: number, minSize: number, maxSize: number): Int32Array {
  const out = new Int32Array(h * w).fill(-1);
  const queue = new Int32Array(Math.max(maxSize, 1));
  const dx = [1, -1, 0, 0];
  const dy = [0, 0, 1, -1];
  let next = 0;
  for (let p0 = 0; p0 < h * w; p0++) {
    if (out[p0] >= 0) continue;
    let adjacent = next;
    const label = labels[p0];
    out[p0] = next;
    queue[0] = p0;
    let found = 1;
    let visited = 0;
    grow: while (visited < found && found < maxSize) {
      const p = queue[visited];
      const y = Math.floor(p / w);
      const x = p % w;
      for (let i = 0; i < 4; i++) {
        const yy = y + dy[i];
        const xx = x + dx[i];
        if (yy < 0 || yy >= h || xx < 0 || xx >= w) continue;
        const q = yy * w + xx;
        if (labels[q] === label && out[q] < 0) {
          out[q] = next;
          queue[found++] = q;
          if (found >= maxSize) break grow;
        } else if (out[q] >= 0 && out[q] !== next) adjacent = out[q];
      }
      visited++;
    }
    if (found < minSize) for (let i = 0; i < found; i++) out[queue[i]] = adjacent;
    else next++;
  }
  return out;
}
