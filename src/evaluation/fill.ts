/**
 * What perturbed values are replaced by. As Quantus's baselines (helpers/utils.py get_baseline_dict,
 * batched): one value per image over all its channels, 'black' its minimum, 'white' its maximum,
 * 'mean' its mean, 'uniform' one draw from U(0, 1) (one a step, not one a pixel), or a number; and
 * 'blur', the values of a blurred copy (RISE's substrate, ./blur.ts). Region perturbation and pixel
 * flipping take the value from the image as perturbed so far, at every step (as Quantus); deletion and
 * insertion from the image itself, once (as RISE's substrate_fn).
 */
import type { Random } from '../attribution/random.js';

export type Fill = number | 'black' | 'white' | 'mean' | 'uniform' | 'blur';
export const FILL_NAMES = ['black', 'white', 'mean', 'uniform', 'blur'] as const;

/** The value a step writes, from the image as it stands (`blur` reads its own source instead). */
export function fillValue(fill: Exclude<Fill, 'blur'>, image: Float32Array, random: Random): number {
  if (typeof fill === 'number') return fill;
  if (fill === 'uniform') return random.uniform();
  if (fill === 'mean') {
    let s = 0;
    for (let i = 0; i < image.length; i++) s += image[i];
    return s / image.length;
  }
  let m = fill === 'black' ? Infinity : -Infinity;
  for (let i = 0; i < image.length; i++) m = fill === 'black' ? Math.min(m, image[i]) : Math.max(m, image[i]);
  return m;
}
