/**
 * The model cache: every fetched file's size is checked at each load and its SHA-256 on request
 * (`relprop models --verify`); errors name the file and the fix. Folders of interrupted fetches are
 * removed; relative and empty cache settings resolve or fail clearly. Works on a copy of the cached
 * resnet50-imagenet entry (which .ci/run fetches before the tests).
 */
import { execFile, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cacheEntry, knownModels, loadModel, RelpropError, verifyCached, type ModelManifest } from '../src/index.js';
import { removeStaleFetches } from '../src/io/registry/cache.js';

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
    const r = await promisify(execFile)(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), 'models', '--verify'], { cwd: ROOT, env: { ...process.env, RELPROP_CACHE: cacheDir } }).then(
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
    const saved = process.env.RELPROP_CACHE;
    process.env.RELPROP_CACHE = 'rel';
    expect((await cacheEntry(manifest)).dir).toBe(resolve('rel', manifest.name, manifest.source.version));
    process.env.RELPROP_CACHE = '';
    expect((await cacheEntry(manifest)).dir).toBe(join(ROOT, 'weights/cache', manifest.name, manifest.source.version));
    if (saved === undefined) delete process.env.RELPROP_CACHE;
    else process.env.RELPROP_CACHE = saved;
  });
});
