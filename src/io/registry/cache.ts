/**
 * The cache of fetched models: `<root>/<name>/<version>/`, complete once its marker is written. The
 * marker records every file's size and SHA-256, so a cached model is checked at each load (sizes: a
 * truncated or replaced shard) and on request (`relprop models --verify`: hashes). Node modules are
 * imported when called, so a browser bundle of the library can leave them out.
 */
import { fail } from '../../errors.js';
import type { ModelManifest } from './manifest.js';

export const COMPLETE_MARKER = '.relprop-complete';
/** Markers before version 2 list no files; such entries are fetched again. */
const MARKER_VERSION = 2;
/** A fetch folder whose owner is gone, or older than this, is left over from an interrupted fetch. */
const STALE_FETCH_MS = 24 * 3600 * 1000;
export const FETCH_OWNER = '.owner';

export interface CacheRecord {
  version: number;
  spec: string;
  integrity: string;
  fetched: string;
  files: Record<string, { size: number; sha256: string }>;
}

/** Who chose the cache folder: the caller's `cacheDir`, $RELPROP_CACHE, $XDG_CACHE_HOME, or the platform's convention. */
export type CacheSource = 'cacheDir' | 'RELPROP_CACHE' | 'XDG_CACHE_HOME' | 'platform';

/**
 * Where the cache lives: `cacheDir`, else $RELPROP_CACHE (an empty one counts as unset), else the user's
 * cache folder (`userCacheRoot`). Not inside the package: there every project that installs relprop
 * would fetch the model again, `npm ci` would delete it, and a read-only node_modules could not hold it.
 */
export async function cacheRoot(cacheDir?: string): Promise<{ root: string; from: CacheSource }> {
  const path = await import('node:path');
  const os = await import('node:os');
  if (cacheDir !== undefined && (typeof cacheDir !== 'string' || cacheDir.trim() === '')) {
    fail('BAD_OPTION', `cacheDir must name a folder, got ${JSON.stringify(cacheDir)}`);
  }
  // Relative folders are taken from the working directory (npm, which fetches, runs elsewhere).
  if (cacheDir !== undefined) return { root: path.resolve(cacheDir), from: 'cacheDir' };
  const env = process.env.RELPROP_CACHE;
  if (env?.trim()) return { root: path.resolve(env), from: 'RELPROP_CACHE' };
  return userCacheRoot(process.env, process.platform, os.homedir());
}

/**
 * relprop's folder in the user's cache: $XDG_CACHE_HOME/relprop on every platform (as pnpm does: a user
 * who sets it wants caches there), else ~/.cache/relprop, ~/Library/Caches/relprop on macOS, or
 * %LOCALAPPDATA%\relprop\Cache on Windows (the folders env-paths gives). The platform and home are
 * parameters so every platform's answer can be checked on any.
 */
export async function userCacheRoot(env: Record<string, string | undefined>, platform: string, home: string): Promise<{ root: string; from: CacheSource }> {
  const { posix, win32 } = await import('node:path');
  const path = platform === 'win32' ? win32 : posix;
  const xdg = env.XDG_CACHE_HOME;
  // The XDG spec: a relative path in these variables is invalid and is to be ignored.
  if (xdg && path.isAbsolute(xdg)) return { root: path.join(xdg, 'relprop'), from: 'XDG_CACHE_HOME' };
  if (platform === 'darwin') return { root: path.join(home, 'Library', 'Caches', 'relprop'), from: 'platform' };
  if (platform === 'win32') return { root: path.join(env.LOCALAPPDATA || path.join(home, 'AppData', 'Local'), 'relprop', 'Cache'), from: 'platform' };
  return { root: path.join(home, '.cache', 'relprop'), from: 'platform' };
}

async function readRecord(dir: string): Promise<CacheRecord | undefined> {
  const fs = await import('node:fs');
  const path = await import('node:path');
  try {
    const r = JSON.parse(fs.readFileSync(path.join(dir, COMPLETE_MARKER), 'utf8')) as CacheRecord;
    return r?.version === MARKER_VERSION && r.files && typeof r.files === 'object' ? r : undefined;
  } catch {
    return undefined;
  }
}

/** The files of a complete cache entry by absolute path, with the SHA-256 recorded when they were fetched. */
export async function cachedFiles(dir: string): Promise<Map<string, string>> {
  const path = await import('node:path');
  const record = await readRecord(dir);
  return new Map(Object.entries(record?.files ?? {}).map(([rel, f]) => [path.join(dir, rel), f.sha256]));
}

export async function isCached(dir: string): Promise<boolean> {
  return (await readRecord(dir)) !== undefined;
}

/** The SHA-256 of a file, read as a stream. */
export async function sha256(file: string): Promise<string> {
  const { createHash } = await import('node:crypto');
  const { createReadStream } = await import('node:fs');
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Every regular file under `dir` with its size and hash (written into the marker after a fetch). */
export async function recordFiles(dir: string): Promise<CacheRecord['files']> {
  const fs = await import('node:fs');
  const path = await import('node:path');
  const files: CacheRecord['files'] = {};
  for (const rel of fs.readdirSync(dir, { recursive: true }) as string[]) {
    const full = path.join(dir, rel);
    const st = fs.lstatSync(full);
    if (st.isFile()) files[rel.split(path.sep).join('/')] = { size: st.size, sha256: await sha256(full) };
  }
  return files;
}

/**
 * Checks a cache entry against its marker: every file there, a regular file, of its recorded size,
 * and with `hashes`, of its recorded SHA-256. A failure names the file and the fix.
 */
export async function checkCacheEntry(manifest: ModelManifest, dir: string, hashes = false): Promise<void> {
  const fs = await import('node:fs');
  const path = await import('node:path');
  const record = await readRecord(dir);
  const fix = `delete the cache entry ${dir} to fetch it again`;
  if (!record) return fail('BAD_MODEL', `the cached model "${manifest.name}" in ${dir} has no valid ${COMPLETE_MARKER} record; ${fix}`);
  for (const [rel, want] of Object.entries(record.files)) {
    const full = path.join(dir, rel);
    let st: import('node:fs').Stats;
    try {
      st = fs.lstatSync(full);
    } catch {
      return fail('BAD_MODEL', `the cached model "${manifest.name}" lacks ${rel}; ${fix}`);
    }
    if (!st.isFile()) fail('BAD_MODEL', `the cached model "${manifest.name}": ${rel} is no longer a regular file; ${fix}`);
    if (st.size !== want.size) fail('BAD_MODEL', `the cached model "${manifest.name}": ${rel} has ${st.size} bytes, not the ${want.size} fetched (truncated or changed); ${fix}`);
    if (hashes && (await sha256(full)) !== want.sha256) fail('BAD_MODEL', `the cached model "${manifest.name}": ${rel} does not match the SHA-256 recorded when it was fetched (changed); ${fix}`);
  }
}

/** Removes fetch folders left by interrupted fetches: their process is gone (same host), or they are a day old. */
export async function removeStaleFetches(parent: string): Promise<void> {
  const fs = await import('node:fs');
  const path = await import('node:path');
  const os = await import('node:os');
  let names: string[];
  try {
    names = fs.readdirSync(parent).filter((n) => n.startsWith('.fetch-'));
  } catch {
    return;
  }
  for (const name of names) {
    const dir = path.join(parent, name);
    let owner: { pid?: number; host?: string } = {};
    try {
      owner = JSON.parse(fs.readFileSync(path.join(dir, FETCH_OWNER), 'utf8'));
    } catch {
      // No owner yet (just created) or unreadable: the age alone decides.
    }
    const old = Date.now() - fs.statSync(dir).mtimeMs > STALE_FETCH_MS;
    const gone = owner.host === os.hostname() && typeof owner.pid === 'number' && !alive(owner.pid, fs);
    if (old || gone) fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Whether a process runs: it exists and, on Linux, is not a zombie that nobody has reaped yet. */
function alive(pid: number, fs: typeof import('node:fs')): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}
