/**
 * The images an `explain` run covers: files as given, directories searched recursively, and glob
 * patterns (for shells that do not expand them, or quoted: 'data/**\/*.jpg'), each in a stable sorted
 * order; then, with --shard K/N, the K-th of N deterministic slices of that list.
 */
import { readdirSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve, sep } from 'node:path';
import { globSync, isDynamicPattern } from 'tinyglobby';
import { fail } from '../errors.js';

/**
 * The extensions a folder walk or a pattern picks up: those relprop decodes (src/image/decode.ts), and
 * photo formats it does not (WebP, AVIF, HEIC), so that those fail by name in the run's list of
 * failures instead of being passed over without a word.
 */
const IMAGE = /\.(png|jpe?g|bmp|gif|tiff?|webp|avif|hei[cf])$/i;

/**
 * `skip`: the run's output folder. A folder walk or a pattern does not descend into it, so a run over
 * `.` never takes its own panels or plots for photos; a file named outright is taken wherever it is.
 */
export function imagesOf(args: readonly string[], skip?: string): string[] {
  const out: string[] = [];
  const skipped = skip === undefined ? undefined : resolve(skip);
  const inSkipped = (f: string) => skipped !== undefined && (resolve(f) + sep).startsWith(skipped + sep);
  for (const arg of args) {
    let st: ReturnType<typeof statSync> | undefined;
    try {
      st = statSync(arg);
    } catch {
      st = undefined;
    }
    if (st?.isFile()) out.push(arg);
    else if (st?.isDirectory()) {
      const found = walk(arg, skipped);
      if (found.length === 0) fail('NOT_FOUND', `the folder "${arg}" holds no images (.png, .jpg, .bmp, .gif, .tif; .webp, .avif and .heic are named and refused)`);
      out.push(...found);
    } else if (isDynamicPattern(arg)) {
      const found = globSync(arg, { onlyFiles: true, expandDirectories: false, absolute: isAbsolute(arg) }).filter((f) => IMAGE.test(f) && !inSkipped(f)).sort();
      if (found.length === 0) fail('NOT_FOUND', `no images match "${arg}"`);
      out.push(...found);
    } else fail('NOT_FOUND', `no image file "${arg}"`);
  }
  return out;
}

/** Image files below a folder, depth first in name order; links are not followed into folders, nor is `skip` entered. */
function walk(dir: string, skip?: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const p = join(dir, e.name);
    if (e.isDirectory() && resolve(p) !== skip) out.push(...walk(p, skip));
    else if (e.isFile() && IMAGE.test(e.name)) out.push(p);
  }
  return out;
}

/** --shard K/N: 1 <= K <= N. */
export function parseShard(spec: string): { k: number; n: number } {
  const m = /^(\d+)\/(\d+)$/.exec(spec.trim());
  const k = m ? Number(m[1]) : NaN;
  const n = m ? Number(m[2]) : NaN;
  if (!m || n < 1 || k < 1 || k > n) fail('BAD_OPTION', `--shard must be K/N with 1 <= K <= N (the K-th of N slices), got "${spec}"`);
  return { k, n };
}

/** Whether image i (of the whole sorted list) is in shard K of N: every N-th, so shards balance. */
export const inShard = (i: number, { k, n }: { k: number; n: number }) => i % n === k - 1;
