import { fail } from './errors.js';

/** Levenshtein distance, for suggesting the option a misspelt one was meant to be. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const next = Math.min(row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = row[j];
      row[j] = next;
    }
  }
  return row[b.length];
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
    const near = known.map((k) => [k, distance(key.toLowerCase(), k.toLowerCase())] as const).sort((a, b) => a[1] - b[1])[0];
    const hint = near && near[1] <= Math.max(2, key.length / 3) ? ` (did you mean "${near[0]}"?)` : '';
    fail('BAD_OPTION', `${call}: unknown option "${key}"${hint}; known options: ${known.join(', ')}`);
  }
}
