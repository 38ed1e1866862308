/**
 * A known model as `relprop demo` serves it over HTTP (src/cli/demo.ts), built: from its prepared form
 * with no import, or else imported from its model.json and shards. The demo page's worker builds the
 * default model this way from bytes its page fetched (served-files.ts).
 */
import { loadModelFiles, loadPreparedBytes } from '../load.js';
import type { Model } from '../../model/model.js';
import { fetchServedModel, type ServedBytes, type ServedFetchOptions } from './served-files.js';

export interface ServedModelOptions extends ServedFetchOptions {
  /** Threads the model runs on by default (see ModelOptions). */
  threads?: number;
}

/** The model of a served model's bytes. */
export async function buildServedModel(bytes: ServedBytes, options: { threads?: number } = {}): Promise<Model> {
  const { manifest } = bytes;
  if (bytes.prepared) return loadPreparedBytes(bytes.prepared, manifest.name, { preprocessing: manifest.preprocessing, threads: options.threads });
  return loadModelFiles(bytes.files ?? new Map(), { labels: bytes.labels, preprocessing: manifest.preprocessing, threads: options.threads });
}

/**
 * Loads the model served under `base` (a URL ending in '/'); resolves to it, its manifest's name and
 * `kept`: whether its prepared form is in `options.cache`, once written there.
 */
export async function loadServedModel(base: string, options: ServedModelOptions = {}): Promise<{ model: Model; name: string; kept: Promise<boolean> }> {
  const { bytes, kept } = await fetchServedModel(base, options);
  options.onProgress?.(`Loading ${bytes.manifest.name}: building it`);
  return { model: await buildServedModel(bytes, options), name: bytes.manifest.name, kept };
}
