import { expect } from 'vitest';

/** Largest absolute difference, and the largest magnitude of the expected values (the scale). */
export function maxDiff(actual: ArrayLike<number>, expected: ArrayLike<number>): { diff: number; scale: number } {
  let scale = 0;
  let diff = 0;
  for (let i = 0; i < expected.length; i++) {
    scale = Math.max(scale, Math.abs(expected[i]));
    diff = Math.max(diff, Math.abs(actual[i] - expected[i]));
  }
  return { diff, scale };
}

/**
 * max |actual - expected| <= tol * max |expected|: a relative tolerance on the whole output. Single
 * elements are not compared relatively: one near zero after cancellation has no meaningful relative
 * error in float32.
 */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  expect(actual.length, what).toBe(expected.length);
  const { diff, scale } = maxDiff(actual, expected);
  expect(diff, `${what}: max difference ${diff} vs scale ${scale}`).toBeLessThanOrEqual(tol * scale + 1e-30);
}
