/**
 * Rankings of a map's values, with ties broken by position, the lower index first, in both directions
 * (a stable sort). The references use numpy's default argsort, which is not stable: their order of tied
 * values depends on numpy's version and the CPU, so theirs cannot be reproduced, only stated.
 */
import type { Random } from '../attribution/random.js';

export type Order = 'morf' | 'lerf' | 'random';
export const ORDERS: readonly Order[] = ['morf', 'lerf', 'random'];

/** Indices of `values`, most relevant first ('morf'), least first ('lerf'), or a seeded shuffle ('random'). */
export function ranking(values: ArrayLike<number>, order: Order, random: Random): Int32Array {
  const idx = Int32Array.from({ length: values.length }, (_, i) => i);
  if (order === 'random') {
    // Fisher-Yates, from the back.
    for (let i = idx.length - 1; i > 0; i--) {
      const j = Math.floor(random.uniform() * (i + 1));
      [idx[i], idx[j]] = [idx[j], idx[i]];
    }
    return idx;
  }
  const sign = order === 'morf' ? -1 : 1;
  return idx.sort((i, j) => sign * (values[i] - values[j]) || i - j);
}
