/**
 * A known model as `relprop demo` serves it over HTTP (src/cli/demo.ts): its manifest with every file's
 * size, and its prepared form (one file, read with no import) or else labels, model.json and shards,
 * fetched with progress, each bounded by the size the manifest lists. The demo page's worker loads the
 * default model this way.
 */
import { fetchBounded } from '../files.js';
import { loadModelFiles, loadPreparedBytes, MAX_MODEL_FILE_BYTES } from '../load.js';
import type { Model } from '../../model/model.js';
import { checkManifest, parseLabels, type ModelManifest } from './manifest.js';

/** Where `relprop demo` serves a model's prepared form, beside its manifest. */
export const PREPARED_NAME = 'model.relprop';

/** A served manifest: a known model's, with the size of every file and, where there is one, of its prepared form. */
type ServedManifest = ModelManifest & { sizes?: Record<string, number>; prepared?: { file: string; size: number } };

export interface ServedModelOptions {
  /** Threads the model runs on by default (see ModelOptions). */
  threads?: number;
  /** Called as the files come: what is being done and, while shards arrive, bytes so far of the total. */
  onProgress?: (stage: string, done?: number, total?: number) => void;
}

/** Loads the model served under `base` (a URL ending in '/'); resolves to it and its manifest's name. */
export async function loadServedModel(base: string, options: ServedModelOptions = {}): Promise<{ model: Model; name: string }> {
  const progress = options.onProgress ?? (() => {});
  progress('Loading the served model: fetching its manifest');
  const text = async (url: URL) => new TextDecoder().decode(await fetchBounded(url.href, MAX_MODEL_FILE_BYTES));
  const served = JSON.parse(await text(new URL('manifest.json', base))) as ServedManifest;
  const manifest = checkManifest(served, 'the served manifest');
  if (served.prepared?.file === PREPARED_NAME && Number.isSafeInteger(served.prepared.size)) {
    // One file, relprop's own layout: nothing to import (src/io/prepared/format.ts).
    let done = 0;
    const bytes = await fetchBounded(new URL(PREPARED_NAME, base).href, served.prepared.size, (n) => progress(`Loading ${manifest.name}`, (done += n), served.prepared!.size));
    progress(`Loading ${manifest.name}: building it`);
    return { model: loadPreparedBytes(bytes, manifest.name, { preprocessing: manifest.preprocessing, threads: options.threads }), name: manifest.name };
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
  progress(`Loading ${manifest.name}: building it`);
  return { model: await loadModelFiles(files, { labels, preprocessing: manifest.preprocessing, threads: options.threads }), name: manifest.name };
}
