import { fail } from './errors.js';

/**
 * Edits from a to b: insertions, deletions, substitutions and swaps of two neighbours (the optimal
 * string alignment distance: `bacth` is one edit from `batch`), for suggesting what a misspelt name meant.
 */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/**
 * ` (did you mean "x"?)` for the known name nearest a misspelt one (case aside), where it is near enough
 * to be the one meant (a quarter of the word's letters, at least one, changed: `lerf` is not a
 * misspelt `morf`); else ''.
 */
export function meant(word: string, known: readonly string[]): string {
  const near = known.map((k) => [k, distance(word.toLowerCase(), k.toLowerCase())] as const).sort((a, b) => a[1] - b[1])[0];
  return near && near[1] <= Math.max(1, Math.floor(word.length / 4)) ? ` (did you mean "${near[0]}"?)` : '';
}

/**
 * Fails on an option a call does not know, naming it, the nearest known one and all of them: a
 * misspelt option (`{ compsite: 'epsilon' }`) would otherwise be ignored and the call run as if nothing
 * had been asked. Options whose value is undefined count as not given.
 */
export function checkOptions(options: unknown, known: readonly string[], call: string): void {
  if (options === undefined) return;
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    fail('BAD_OPTION', `${call}: options must be an object, got ${options === null ? 'null' : Array.isArray(options) ? 'an array' : typeof options}`);
  }
  for (const [key, value] of Object.entries(options)) {
    if (known.includes(key) || value === undefined) continue;
    fail('BAD_OPTION', `${call}: unknown option "${key}"${meant(key, known)}; known options: ${known.join(', ')}`);
  }
}
