/**
 * Fetching a known model as `relprop demo` serves it over HTTP (src/cli/demo.ts): its manifest with
 * every file's size, and its prepared form (one file, versioned) or else labels, model.json and shards,
 * each bounded by the size the manifest lists, with progress. Nothing here builds a model, so a page
 * can fetch on its main thread, as soon as it starts, while its worker (which builds it: served.ts)
 * is still starting.
 */
import { fetchBounded, MAX_MODEL_FILE_BYTES } from '../files.js';
import { checkManifest, parseLabels, type ModelManifest } from './manifest.js';
import { PREPARED_NAME } from './default-model.js';

/**
 * A served manifest: a known model's, with the size of every file and, where there is one, of its
 * prepared form, whose version names its contents (it changes whenever they do).
 */
type ServedManifest = ModelManifest & { sizes?: Record<string, number>; prepared?: { file: string; size: number; version?: string } };

/** The part of the Cache API (a page's or worker's `caches.open(name)`) a fetch uses. */
export type ModelCache = Pick<Cache, 'match' | 'put' | 'keys' | 'delete'>;

/** A served model's bytes, as fetched: its prepared form, or its source files (model.json and shards) and labels. */
export interface ServedBytes {
  manifest: ModelManifest;
  prepared?: Uint8Array;
  files?: Map<string, Uint8Array>;
  labels?: string[];
}

export interface ServedFetchOptions {
  /** Called as the files come: what is being done and, while bytes arrive, bytes so far of the total. */
  onProgress?: (stage: string, done?: number, total?: number) => void;
  /**
   * Where the prepared form is kept, by its version: a later fetch reads it from there and fetches only
   * the manifest; a new version replaces the old. It is written while it is read and after (`kept`),
   * not waited for: writing 98 MB took the demo's first load from 0.75 to 1.9 s. A cache that fails (a
   * full quota) only costs the next load a fetch.
   */
  cache?: ModelCache;
}

/**
 * A fetch that answers from `cache` where it holds the URL, else fetches it and keeps it there: the
 * response's body is read by the caller and written to the cache at the same time (a tee, no copy);
 * `kept` resolves to whether the URL is in the cache once written. Older versions of the file (the
 * same path, another query) are deleted then.
 */
function cacheFirst(cache: ModelCache): { get: (url: string) => Promise<Response>; kept: () => Promise<boolean> } {
  let kept: Promise<boolean> = Promise.resolve(false);
  const get = async (url: string): Promise<Response> => {
    const hit = await cache.match(url).catch(() => undefined);
    if (hit) {
      kept = Promise.resolve(true);
      return hit;
    }
    const res = await fetch(url);
    if (res.ok) {
      kept = cache
        .put(url, res.clone())
        .then(async () => {
          const path = new URL(url).pathname;
          for (const old of await cache.keys()) if (old.url !== url && new URL(old.url).pathname === path) await cache.delete(old);
          return true;
        })
        .catch(() => false);
    }
    return res;
  };
  return { get, kept: () => kept };
}

/**
 * Fetches the model served under `base` (a URL ending in '/'): its bytes, and `kept`, whether its
 * prepared form is in `options.cache` once written there.
 */
export async function fetchServedModel(base: string, options: ServedFetchOptions = {}): Promise<{ bytes: ServedBytes; kept: Promise<boolean> }> {
  const progress = options.onProgress ?? (() => {});
  progress('Loading the served model: fetching its manifest');
  const text = async (url: URL) => new TextDecoder().decode(await fetchBounded(url.href, MAX_MODEL_FILE_BYTES));
  const served = JSON.parse(await text(new URL('manifest.json', base))) as ServedManifest;
  const manifest = checkManifest(served, 'the served manifest');
  if (served.prepared?.file === PREPARED_NAME && Number.isSafeInteger(served.prepared.size)) {
    // One file, relprop's own layout: nothing to import (src/io/prepared/format.ts).
    let done = 0;
    const { version } = served.prepared;
    // Only a versioned file is kept: an unversioned one could change under the same URL.
    const cached = options.cache && typeof version === 'string' ? cacheFirst(options.cache) : undefined;
    const url = new URL(`${PREPARED_NAME}${cached ? `?v=${encodeURIComponent(version!)}` : ''}`, base).href;
    const prepared = await fetchBounded(url, served.prepared.size, (n) => progress(`Loading ${manifest.name}`, (done += n), served.prepared!.size), cached?.get);
    return { bytes: { manifest, prepared }, kept: cached?.kept() ?? Promise.resolve(false) };
  }
  const labels = manifest.labels ? parseLabels(await text(new URL(manifest.labels, base)), `${manifest.name} labels`) : undefined;
  const modelUrl = new URL(manifest.model, base);
  const json = await text(modelUrl);
  const paths: string[] = (JSON.parse(json).weightsManifest ?? []).flatMap((g: { paths: string[] }) => g.paths);
  // Shard paths are relative to model.json; the sizes the server lists are package paths.
  const dirOf = manifest.model.split('/').slice(0, -1).join('/');
  const sizeOf = (p: string) => served.sizes?.[dirOf ? `${dirOf}/${p}` : p] ?? 0;
  const total = paths.reduce((s, p) => s + sizeOf(p), 0);
  let done = 0;
  const files = new Map<string, Uint8Array>([['model.json', new TextEncoder().encode(json)]]);
  for (const p of paths) {
    files.set(p, await fetchBounded(new URL(p, modelUrl).href, sizeOf(p) || MAX_MODEL_FILE_BYTES, (n) => progress(`Loading ${manifest.name}`, (done += n), total)));
  }
  return { bytes: { manifest, files, labels }, kept: Promise.resolve(false) };
}
