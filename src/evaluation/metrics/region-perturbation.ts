/**
 * Region perturbation (Samek et al. 2017) as Quantus 0.6's RegionPerturbation: the image padded to a
 * multiple of `patch` (half the padding before, the rest after; the image by its edge values, the map by
 * zeros), the fixed grid of non-overlapping patch x patch regions over all channels, ranked by the signed
 * sum of the map in each, and `steps` regions filled one after another (cumulative), the padding cropped
 * before each image is scored.
 */
import type { Random } from '../../attribution/random.js';
import { blur } from '../blur.js';
import { fillValue, type Fill } from '../fill.js';
import { ranking, type Order } from '../order.js';
import type { Walk } from '../walk.js';

export interface RegionSettings {
  patch: number;
  /** Regions filled: at most the grid's. */
  steps: number;
  order: Order;
  fill: Fill;
}

/** Padding before and after a side of `size` for patches of `patch` (Quantus utils.get_padding_size). */
export function padding(size: number, patch: number): [number, number] {
  const total = size % patch === 0 ? 0 : patch - (size % patch);
  return [Math.floor(total / 2), Math.ceil(total / 2)];
}

export function regionWalk(x: Float32Array, map: Float32Array, mapChannels: number, [C, H, W]: readonly number[], s: RegionSettings, random: Random): Walk {
  const [top, bottom] = padding(H, s.patch);
  const [left, right] = padding(W, s.patch);
  const [Hp, Wp] = [H + top + bottom, W + left + right];
  const work = new Float32Array(C * Hp * Wp);
  for (let c = 0; c < C; c++) {
    for (let i = 0; i < Hp; i++) {
      const si = Math.min(H - 1, Math.max(0, i - top));
      for (let j = 0; j < Wp; j++) work[(c * Hp + i) * Wp + j] = x[(c * H + si) * W + Math.min(W - 1, Math.max(0, j - left))];
    }
  }
  const [rows, cols] = [Hp / s.patch, Wp / s.patch];
  // The map is zero in the padding: only the image's own positions count.
  const sums = new Float64Array(rows * cols);
  for (let c = 0; c < mapChannels; c++) {
    for (let i = 0; i < H; i++) {
      for (let j = 0; j < W; j++) sums[Math.floor((i + top) / s.patch) * cols + Math.floor((j + left) / s.patch)] += map[(c * H + i) * W + j];
    }
  }
  const order = ranking(sums, s.order, random);
  const source = s.fill === 'blur' ? blur(work, 1, [C, Hp, Wp]) : null;
  return {
    steps: s.steps,
    local: true,
    write(k, out) {
      if (k > 0) {
        const region = order[k - 1];
        const [i0, j0] = [Math.floor(region / cols) * s.patch, (region % cols) * s.patch];
        const value = source ? 0 : fillValue(s.fill as Exclude<Fill, 'blur'>, work, random);
        for (let c = 0; c < C; c++) {
          for (let i = i0; i < i0 + s.patch; i++) {
            for (let j = j0; j < j0 + s.patch; j++) {
              const at = (c * Hp + i) * Wp + j;
              work[at] = source ? source[at] : value;
            }
          }
        }
      }
      for (let c = 0; c < C; c++) {
        for (let i = 0; i < H; i++) out.set(work.subarray((c * Hp + i + top) * Wp + left, (c * Hp + i + top) * Wp + left + W), (c * H + i) * W);
      }
    },
  };
}
