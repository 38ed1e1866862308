/**
 * The known models: the manifests in the package's `weights/` folder, and where each is cached.
 */
import { fail } from '../../errors.js';
import { checkManifest, type ModelManifest } from './manifest.js';
import type { CacheSource } from './cache.js';

/**
 * The folder of relprop's package.json: the nearest above this module, which is src/io/registry/ or
 * dist/io/registry/ unbundled and dist/bin/ in the CLI's bundle.
 */
export async function packageRoot(): Promise<string> {
  const { fileURLToPath } = await import('node:url');
  const fs = await import('node:fs');
  const path = await import('node:path');
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = path.join(dir, 'package.json');
    if (fs.existsSync(manifest) && JSON.parse(fs.readFileSync(manifest, 'utf8')).name === 'relprop') return dir;
    const up = path.dirname(dir);
    if (up === dir) return fail('BAD_MODEL', `relprop's package.json is not in any folder above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

/** The manifests in the package's `weights/` directory. */
export async function knownModels(): Promise<ModelManifest[]> {
  if (typeof process === 'undefined' || !process.versions?.node) return [];
  const fs = await import('node:fs');
  const path = await import('node:path');
  const dir = path.join(await packageRoot(), 'weights');
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => {
      const where = `weights/${f}`;
      let json: ModelManifest;
      try {
        json = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
      } catch (e) {
        return fail('BAD_MODEL', `${where}: ${(e as Error).message}`);
      }
      return checkManifest(json, where);
    });
}

export async function findManifest(name: string): Promise<ModelManifest | undefined> {
  if (!/^[a-z0-9][a-z0-9._-]*$/i.test(name) || name.includes('.json') || name.includes('.onnx')) return undefined;
  return (await knownModels()).find((m) => m.name === name);
}

/**
 * Where a known model is cached, and whether it is there: `root` is the cache folder and `from` what
 * chose it. `legacy` marks an entry found where relprop cached before, weights/cache in the package.
 */
export async function cacheEntry(manifest: ModelManifest, cacheDir?: string): Promise<{ dir: string; cached: boolean; root: string; from: CacheSource; legacy: boolean }> {
  const path = await import('node:path');
  const { cacheRoot, isCached } = await import('./cache.js');
  const { root, from } = await cacheRoot(cacheDir);
  const dir = path.join(root, manifest.name, manifest.source.version);
  if (await isCached(dir)) return { dir, cached: true, root, from, legacy: false };
  // A model fetched into the package by an earlier relprop is used where it is rather than fetched again
  // (98 MB); a folder the caller or $RELPROP_CACHE names is the only place looked at, as before.
  if (from === 'XDG_CACHE_HOME' || from === 'platform') {
    const old = path.join(await packageRoot(), 'weights', 'cache', manifest.name, manifest.source.version);
    if (await isCached(old)) return { dir: old, cached: true, root, from, legacy: true };
  }
  return { dir, cached: false, root, from, legacy: false };
}

/** Checks a cached model's files against what was fetched: sizes, and with `hashes` their SHA-256. */
export async function verifyCached(manifest: ModelManifest, options: { cacheDir?: string; hashes?: boolean } = {}): Promise<void> {
  const { checkCacheEntry } = await import('./cache.js');
  const { dir, cached } = await cacheEntry(manifest, options.cacheDir);
  if (!cached) fail('NOT_FOUND', `model "${manifest.name}" is not cached (in ${dir})`);
  await checkCacheEntry(manifest, dir, options.hashes);
}
