import { fail } from '../../errors.js';
import { checkPreprocessing, type Preprocessing } from '../../model/preprocessing.js';

/** A known model: where it comes from and how to read it (a JSON file in `weights/`). */
export interface ModelManifest {
  name: string;
  description: string;
  source: { npm: string; version: string; integrity: string; repository?: string; license?: string };
  format: 'keras' | 'onnx';
  /** Model file inside the package. */
  model: string;
  /** Labels file inside the package: a JSON array, or an object from index to label. */
  labels?: string;
  /** Package paths to keep (prefixes ending in "/" or exact files). */
  extract: string[];
  arch?: string;
  input: [number, number, number];
  preprocessing: Preprocessing;
}

export function checkManifest(m: ModelManifest, where: string): ModelManifest {
  const s = m?.source;
  if (!m || typeof m.name !== 'string' || !s || typeof s.npm !== 'string' || typeof s.version !== 'string' || !/^sha512-/.test(s.integrity ?? '')) {
    fail('BAD_MODEL', `${where}: a model manifest needs name and source {npm, version, integrity (sha512)}`);
  }
  if (m.format !== 'keras' && m.format !== 'onnx') fail('BAD_MODEL', `${where}: format must be "keras" or "onnx"`);
  if (!Array.isArray(m.extract) || typeof m.model !== 'string') fail('BAD_MODEL', `${where}: needs "model" and "extract"`);
  checkPreprocessing(m.preprocessing, where);
  return m;
}

/** Labels from a JSON array or an {"0": "tench", ...} object, in class order. */
export function parseLabels(text: string, where: string): string[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return fail('BAD_MODEL', `${where}: not valid JSON (${(e as Error).message})`);
  }
  if (Array.isArray(json) && json.every((l) => typeof l === 'string')) return json;
  if (json && typeof json === 'object') {
    const entries = Object.entries(json as Record<string, unknown>);
    const labels: string[] = new Array(entries.length);
    for (const [k, v] of entries) {
      const i = Number(k);
      if (!Number.isInteger(i) || i < 0 || i >= entries.length || typeof v !== 'string') fail('BAD_MODEL', `${where}: entry "${k}" is not index -> label`);
      labels[i] = v;
    }
    return labels;
  }
  return fail('BAD_MODEL', `${where}: expected a list of labels or an index -> label object`);
}
