/**
 * What `relprop evaluate` leaves: one record a photo and method (`<image>.<method>.<key>.eval.json`, the
 * key hashing the photo as it is on disk and everything that decides the curve), read back to resume a
 * run and to merge shards.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { ModelIdentity } from './run-settings.js';

/** A method of --methods: `name`, `lrp:composite`, or `name:key=value:key=value`. */
export interface MethodItem {
  label: string;
  method: string;
  params: Record<string, unknown>;
}

/** What decides a curve besides the method: in every record, hashed into the names. */
export interface EvaluationSettings {
  model: ModelIdentity;
  input: readonly number[];
  preprocessing: unknown;
  /** The metric's options as given (each record holds them in full). */
  metric: Record<string, unknown>;
  target: 'top1' | number;
  backend: string;
}

/** A photo as it was on disk when its record was made. */
export interface PhotoIdentity {
  path: string;
  bytes: number;
  modified: string;
}

export interface EvalRecord {
  image: string;
  photo?: PhotoIdentity;
  method: MethodItem;
  key: string;
  runKey: string;
  settings: EvaluationSettings;
  target: { index: number; label: string };
  /** The metric's settings in full, defaults filled. */
  metric: Record<string, unknown>;
  /**
   * The curve's scores; randomisation's: the rank correlations, the model's own map's first, then one a
   * stage (NaN where a map is constant, which JSON writes as null and readRecord reads back as NaN).
   */
  curve: number[];
  /** The perturbation metrics'. */
  aopc?: number;
  auc?: number;
  /** Randomisation's: the mean over the stages, and the last (every layer randomised). */
  correlation?: { mean: number; last: number };
  seconds: { attribute: number; evaluate: number };
}

/** A record written before, if whole. */
export function readRecord(path: string): EvalRecord | undefined {
  if (!existsSync(path)) return undefined;
  try {
    const r = JSON.parse(readFileSync(path, 'utf8')) as EvalRecord;
    if (!Array.isArray(r.curve) || !(typeof r.aopc === 'number' || (r.correlation && 'mean' in r.correlation))) return undefined;
    const nan = (v: number | null) => (v === null ? NaN : v);
    return { ...r, curve: r.curve.map(nan), ...(r.correlation ? { correlation: { mean: nan(r.correlation.mean), last: nan(r.correlation.last) } } : {}) };
  } catch {
    return undefined;
  }
}

