/** Checks of methods' parameters, each failing with BAD_OPTION and the parameter's name. */
import { fail } from '../errors.js';
import { meant } from '../options.js';

export function integer(value: unknown, name: string, fallback: number, least = 1): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < least) fail('BAD_OPTION', `${name} must be an integer >= ${least}, got ${String(value)}`);
  return v;
}

export function finite(value: unknown, name: string, fallback: number, check?: (v: number) => boolean, what = ''): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || (check && !check(v))) fail('BAD_OPTION', `${name} must be a finite number${what}, got ${String(value)}`);
  return v;
}

export function oneOf<T extends string>(value: unknown, name: string, fallback: T, known: readonly T[]): T {
  const v = value ?? fallback;
  if (!known.includes(v as T)) fail('BAD_OPTION', `unknown ${name} "${String(value)}"${typeof value === 'string' ? meant(value, known) : ''}; known: ${known.join(', ')}`);
  return v as T;
}

/** A seed for the generator: an integer in [0, 2^32) (default 0, so a run repeats unless told otherwise). */
export function seed(value: unknown): number {
  const v = value ?? 0;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= 2 ** 32) fail('BAD_OPTION', `seed must be an integer in [0, 2^32), got ${String(value)}`);
  return v;
}

/** [h, w] from a number or a pair, each in [1, limit]. */
export function window(value: unknown, name: string, fallback: number | [number, number], limit: [number, number]): [number, number] {
  const v = value ?? fallback;
  const pair = typeof v === 'number' ? [v, v] : Array.isArray(v) && v.length === 2 ? v : null;
  if (!pair || !pair.every((k, i) => typeof k === 'number' && Number.isInteger(k) && k >= 1 && k <= limit[i])) {
    fail('BAD_OPTION', `${name} must be an integer or [h, w] of integers between 1 and the input's ${limit[0]} x ${limit[1]}, got ${JSON.stringify(value)}`);
  }
  return pair as [number, number];
}

/** Most bytes a method's copies (and the maps computed from them) may take at once. */
export const COPIES_LIMIT = 2 ** 31;

/** Fails before allocating if `bytes` of copies (what: how they arise) would exceed COPIES_LIMIT. */
export function copiesFit(bytes: number, what: string): void {
  if (!(bytes <= COPIES_LIMIT)) fail('MEMORY_LIMIT', `${what} would take ${(bytes / 2 ** 20).toFixed(0)} MiB at once, over ${COPIES_LIMIT / 2 ** 30} GiB: use fewer`);
}
