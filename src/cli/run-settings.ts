/**
 * What decides an `explain` result, written beside every output and folded into its name, so that a
 * run with other settings never replaces a result (it writes other names) and never skips one (it looks
 * for its own names only).
 *
 * Design: the output name carries a short key, `<image>.<composite>.<key>.png`, where the key is the
 * first 8 hex digits of the SHA-256 of the settings below; each image's record `<...>.json` (written
 * last, so its presence means the image is finished) holds the settings in full and the result. Chosen
 * over readable names (model, target, parameters, preprocessing in the name) because those get long,
 * need escaping (labels with spaces, paths) and still miss what is not readable (a retrained model of
 * the same file name); and over one record per folder because shards write into one folder at once.
 */
import { createHash } from 'node:crypto';
import type { Preprocessing } from '../model/preprocessing.js';

/** Which model: a known name at its pinned version, a file as it is on disk, or a built architecture. */
export type ModelIdentity =
  | { known: string; npm: string; version: string; integrity: string }
  /** A file by its full path, size and modification time: a file changed in place is another model. */
  | { file: string; bytes: number; modified: string; arch?: string }
  | { arch: string; inputSize?: number; width?: number; seed?: number };

export interface RunSettings {
  model: ModelIdentity;
  /** The per-image input [C, H, W] (set by --input-size for models with free height and width). */
  input: readonly number[];
  /** Where the class names came from (they are in every caption). */
  labels: string;
  preprocessing: Preprocessing;
  /** 'lrp' with its composite, or another method with its parameters as given (defaults are the method's). */
  method: string;
  composite?: { name: string; description: string; initial: string; foldBatchNorm: boolean };
  params?: Readonly<Record<string, unknown>>;
  /** 'top1' or the class index the target named. */
  target: 'top1' | number;
  /** The engine and its kernels: results differ in the last bits between them. */
  backend: string;
  /** What the panel looks like. */
  panel: { cmap: string; overlay: number; normalize: string; clipPercentile: number | null };
}

/** The settings' key (a run's, or any other record's): 8 hex digits of the SHA-256 of their JSON (a collision needs ~65,000 settings in one folder). */
export function settingsKey(s: RunSettings | object): string {
  return createHash('sha256').update(JSON.stringify(s)).digest('hex').slice(0, 8);
}
