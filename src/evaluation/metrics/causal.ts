/**
 * Deletion and insertion as RISE's CausalMetric (Petsiuk et al. 2018, evaluation.py): the map summed
 * over channels, its pixels ranked most relevant first, and `pixelsPerStep` pixels a step copied, all
 * channels, from the finish image into the start one: deletion from the image towards the fill (RISE's
 * zeros), insertion from a blurred copy (RISE's substrate, ../blur.ts) towards the image.
 */
import type { Random } from '../../attribution/random.js';
import { blur } from '../blur.js';
import { fillValue, type Fill } from '../fill.js';
import { ranking } from '../order.js';
import type { Walk } from '../walk.js';

export interface CausalSettings {
  pixelsPerStep: number;
  /** Steps taken: at most ceil(H W / pixelsPerStep). */
  steps: number;
  fill: Fill;
}

/** What `fill` stands for, made from the image once (RISE's substrate_fn(img)). */
function substrate(x: Float32Array, shape: readonly number[], fill: Fill, random: Random): Float32Array {
  if (fill === 'blur') return blur(x, 1, shape);
  return new Float32Array(x.length).fill(fillValue(fill, x, random));
}

export function causalWalk(mode: 'deletion' | 'insertion', x: Float32Array, map: Float32Array, mapChannels: number, shape: readonly number[], s: CausalSettings, random: Random): Walk {
  const [C, H, W] = shape;
  const plane = H * W;
  const saliency = new Float64Array(plane);
  for (let c = 0; c < mapChannels; c++) for (let p = 0; p < plane; p++) saliency[p] += map[c * plane + p];
  const order = ranking(saliency, 'morf', random);
  const other = substrate(x, shape, s.fill, random);
  const [start, finish] = mode === 'deletion' ? [x, other] : [other, x];
  const work = Float32Array.from(start);
  return {
    steps: s.steps,
    local: false,
    write(k, out) {
      if (k > 0) {
        const end = Math.min(plane, k * s.pixelsPerStep);
        for (let r = (k - 1) * s.pixelsPerStep; r < end; r++) for (let c = 0; c < C; c++) work[c * plane + order[r]] = finish[c * plane + order[r]];
      }
      out.set(work);
    },
  };
}
