/**
 * Pixel flipping as Quantus 0.6's PixelFlipping: the map flattened, its values ranked, and `pixelsPerStep`
 * of them filled a step, cumulatively: single channel values for a map with the image's channels (as
 * Quantus), whole pixels (every channel) for a one-channel map (Quantus would broadcast it and flip its C
 * equal copies one by one: the same as pixelsPerStep x C values a step, ties apart).
 */
import type { Random } from '../../attribution/random.js';
import { blur } from '../blur.js';
import { fillValue, type Fill } from '../fill.js';
import { ranking, type Order } from '../order.js';
import type { Walk } from '../walk.js';

export interface FlipSettings {
  pixelsPerStep: number;
  /** Steps taken: at most ceil(values / pixelsPerStep). */
  steps: number;
  order: Order;
  fill: Fill;
}

export function flipWalk(x: Float32Array, map: Float32Array, mapChannels: number, [C, H, W]: readonly number[], s: FlipSettings, random: Random): Walk {
  const work = Float32Array.from(x);
  const order = ranking(map, s.order, random);
  const whole = mapChannels === 1 && C > 1;
  const plane = H * W;
  const source = s.fill === 'blur' ? blur(x, 1, [C, H, W]) : null;
  return {
    steps: s.steps,
    local: false,
    write(k, out) {
      if (k > 0) {
        const value = source ? 0 : fillValue(s.fill as Exclude<Fill, 'blur'>, work, random);
        const end = Math.min(order.length, k * s.pixelsPerStep);
        for (let r = (k - 1) * s.pixelsPerStep; r < end; r++) {
          const f = order[r];
          if (whole) for (let c = 0; c < C; c++) work[c * plane + f] = source ? source[c * plane + f] : value;
          else work[f] = source ? source[f] : value;
        }
      }
      out.set(work);
    },
  };
}
