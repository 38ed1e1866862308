import { fail } from '../errors.js';
import { colormap, COLORMAPS } from './colormaps.js';

export type Normalization = 'symmetric' | 'absolute' | 'minmax';
export const NORMALIZATIONS: readonly Normalization[] = ['symmetric', 'absolute', 'minmax'];

export interface HeatmapOptions {
  /** Colour map name (default 'bwr'). */
  cmap?: string;
  /**
   * 'symmetric' (as Zennit's imgify(symmetric=True)): [-m, m] -> [0, 1] with m = max |R|, so zero is
   * the middle of the colour map; 'absolute': |R| / m; 'minmax': [min, max] -> [0, 1]. Default: the
   * colour map's own, symmetric for the signed maps and absolute for the one-sided ones (hot, gray),
   * whose middle colour would otherwise paint every pixel without relevance.
   */
  normalize?: Normalization;
  /** Clip at this percentile of |R| (e.g. 99.5) instead of the maximum, so a few pixels do not wash out the rest. */
  clipPercentile?: number;
}

/** Relevance of one image ([C, H, W]) summed over channels: the [H, W] map a heatmap shows. */
export function channelSum(relevance: ArrayLike<number>, channels: number, height: number, width: number): Float32Array {
  if (relevance.length !== channels * height * width) fail('BAD_INPUT', `relevance has ${relevance.length} values, expected ${channels}x${height}x${width}`);
  const out = new Float32Array(height * width);
  for (let c = 0; c < channels; c++) for (let i = 0; i < height * width; i++) out[i] += relevance[c * height * width + i];
  return out;
}

function percentile(values: Float32Array, p: number): number {
  const sorted = Float32Array.from(values).sort();
  const pos = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
}

/** The normalization the options ask for, or the colour map's own. */
export function normalizationOf(options: HeatmapOptions): Normalization {
  const mode = options.normalize ?? (COLORMAPS[options.cmap ?? 'bwr']?.signed === false ? 'absolute' : 'symmetric');
  if (!NORMALIZATIONS.includes(mode)) fail('BAD_OPTION', `unknown normalization "${mode}"; known: ${NORMALIZATIONS.join(', ')}`);
  return mode;
}

/** Maps a relevance map to [0, 1] positions on the colour map. */
export function normalizeMap(map: Float32Array, options: HeatmapOptions = {}): Float32Array {
  const mode = normalizationOf(options);
  const p = options.clipPercentile;
  if (p !== undefined && !(p > 0 && p <= 100)) fail('BAD_OPTION', `clipPercentile must be in (0, 100], got ${p}`);
  for (const v of map) if (!Number.isFinite(v)) fail('BAD_INPUT', 'relevance holds NaN or infinite values; nothing sensible can be drawn');
  const out = new Float32Array(map.length);
  if (mode === 'minmax') {
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of map) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    if (p !== undefined) {
      lo = percentile(map, 100 - p);
      hi = percentile(map, p);
    }
    const span = hi - lo || 1;
    for (let i = 0; i < map.length; i++) out[i] = Math.min(Math.max((map[i] - lo) / span, 0), 1);
    return out;
  }
  const abs = map.map(Math.abs);
  let m = p !== undefined ? percentile(abs, p) : abs.reduce((a, b) => Math.max(a, b), 0);
  if (!(m > 0)) m = 1; // an all-zero map shows as the colour of zero
  for (let i = 0; i < map.length; i++) {
    const v = Math.min(Math.max(map[i] / m, -1), 1);
    out[i] = mode === 'symmetric' ? 0.5 + 0.5 * v : Math.abs(v);
  }
  return out;
}

/** RGB (H x W x 3, 0..255) heatmap of an [H, W] relevance map. */
export function heatmapRgb(map: Float32Array, options: HeatmapOptions = {}): Float32Array {
  const cmap = colormap(options.cmap ?? 'bwr');
  const t = normalizeMap(map, options);
  const rgb = new Float32Array(t.length * 3);
  for (let i = 0; i < t.length; i++) {
    const [r, g, b] = cmap(t[i]);
    rgb[i * 3] = r * 255;
    rgb[i * 3 + 1] = g * 255;
    rgb[i * 3 + 2] = b * 255;
  }
  return rgb;
}
