import { closeSync, existsSync, mkdirSync, openSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join, relative, resolve, sep } from 'node:path';
import { fail } from '../errors.js';

/**
 * Makes sure the output folder exists and takes files, before any model is loaded: a file in its
 * place, a read-only place, an empty name or a path through a file are usage errors, not a crash
 * after a long load. Writes and removes one probe file (which also catches /proc and full disks).
 */
export function prepareOutputDir(dir: string): void {
  if (dir.trim() === '') fail('BAD_OPTION', '--out is empty; give a folder for the panels');
  try {
    makeDirs(resolve(dir));
  } catch (e) {
    fail('BAD_OPTION', `cannot create the output folder "${dir}": ${reason(e)}`);
  }
  if (!statSync(dir).isDirectory()) fail('BAD_OPTION', `--out "${dir}" is a file, not a folder`);
  const probe = join(dir, `.relprop-probe-${process.pid}`);
  try {
    closeSync(openSync(probe, 'wx'));
    rmSync(probe);
  } catch (e) {
    fail('BAD_OPTION', `cannot write into the output folder "${dir}": ${reason(e)}`);
  }
}

/**
 * mkdir -p one level at a time: Node's recursive mkdirSync loops for ever where mkdir answers ENOENT
 * under an existing parent (as in /proc).
 */
export function makeDirs(dir: string): void {
  if (existsSync(dir)) return;
  makeDirs(dirname(dir));
  mkdirSync(dir);
}

function reason(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  const known: Record<string, string> = {
    EEXIST: 'a file of that name is in the way',
    ENOTDIR: 'part of the path is a file',
    EACCES: 'permission denied',
    EPERM: 'not permitted',
    EROFS: 'the file system is read-only',
    ENOENT: 'that place cannot hold files',
    ENOSPC: 'the disk is full',
  };
  return known[err.code ?? ''] ?? err.message;
}

/**
 * The name each image's outputs get, without the composite and extension: its file name without the
 * extension; where two would be equal, its path relative to the images' common folder (a/chelsea and
 * b/chelsea); where that is still equal, with the extension kept (chelsea.png, chelsea.jpg). The same
 * file given twice is a usage error. No output overwrites another of the same run.
 */
export function outputStems(images: readonly string[]): string[] {
  const full = images.map((f) => resolve(f));
  const seen = new Map<string, string>();
  for (const [i, f] of full.entries()) {
    if (seen.has(f)) fail('BAD_OPTION', `the image "${images[i]}" is given twice (as "${seen.get(f)}" too)`);
    seen.set(f, images[i]);
  }
  const clash = (names: string[]) => names.some((n, i) => names.indexOf(n) !== i);
  const strip = (f: string) => f.slice(0, f.length - extname(f).length);
  let stems = full.map((f) => strip(basename(f)));
  if (!clash(stems)) return stems;
  const root = full.map(dirname).reduce((a, b) => {
    while (a !== dirname(a) && relative(a, b).split(sep)[0] === '..') a = dirname(a);
    return a;
  });
  const rel = full.map((f) => relative(root, f));
  stems = rel.map(strip);
  return clash(stems) ? rel : stems;
}

/**
 * Writes a file whole or not at all: into a temporary name beside it, then renamed into place (atomic
 * on one file system), so a run killed mid-write leaves no truncated output that a restart would skip.
 */
export function writeAtomically(path: string, bytes: Uint8Array): void {
  const partial = `${path}.partial-${process.pid}`;
  writeFileSync(partial, bytes);
  renameSync(partial, path);
}
