import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { fail, RelpropError } from '../errors.js';
import { knownModels, loadModel } from '../io/load.js';
import { DEFAULT_MODEL } from '../io/registry/default-model.js';
import { parseLabels } from '../io/registry/manifest.js';
import { buildModel } from '../architectures/index.js';
import { IMAGENET_LABELS } from '../model/imagenet-labels.js';
import { Model } from '../model/model.js';
import { defaultPreprocessing, inputRangeOf, preprocessingForSize, resolvePreprocessing } from '../model/preprocessing.js';
import type { Progress } from './progress.js';
import type { ModelIdentity } from './run-settings.js';

export interface ModelOptions {
  model?: string;
  arch?: string;
  weights?: string;
  inputSize?: string;
  labels?: string;
  width?: string;
  weightSeed?: string;
  preprocessing?: string;
}

/** A model as the command line asked for it, what identifies it, and what the user should be told. */
export interface ResolvedModel {
  model: Model;
  identity: ModelIdentity;
  /** Where the class names came from: the model, a --labels file, ImageNet's (offered), or none. */
  labels: string;
  /** Things relprop chose for the user (ImageNet labels, a guessed preprocessing, luminance input). */
  notes: string[];
}

const int = (v: string | undefined, what: string): number | undefined => {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) fail('BAD_OPTION', `${what} must be a positive integer, got "${v}"`);
  return Number(v);
};

/** --input-size N or HxW. */
export function parseInputSize(v: string | undefined): [number, number] | undefined {
  if (v === undefined) return undefined;
  const m = /^\s*(\d+)\s*(?:[x×,]\s*(\d+)\s*)?$/i.exec(v);
  const hw = m ? [Number(m[1]), Number(m[2] ?? m[1])] : [];
  if (hw.length !== 2 || hw.some((d) => d < 1 || d > 8192)) fail('BAD_OPTION', `--input-size must be N or HxW (height x width, each 1 to 8192), got "${v}"`);
  return hw as [number, number];
}

/** --labels FILE: a JSON list, a JSON object of index -> label (or -> [id, label], as Keras's), or one label a line. */
export function readLabelsFile(file: string): { labels: string[]; source: string } {
  let text: string;
  try {
    if (!statSync(file).isFile()) fail('BAD_OPTION', `--labels "${file}" is not a file`);
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if (e instanceof RelpropError) throw e;
    return fail('NOT_FOUND', `cannot read --labels "${file}": ${(e as Error).message}`);
  }
  const where = `--labels "${file}"`;
  const trimmed = text.trim();
  if (trimmed.startsWith('[') || trimmed.startsWith('{')) {
    let json: unknown;
    try {
      json = JSON.parse(trimmed);
    } catch (e) {
      return fail('BAD_OPTION', `${where} looks like JSON but is not (${(e as Error).message})`);
    }
    // Keras's imagenet_class_index.json: { "0": ["n01440764", "tench"], ... }
    if (json && typeof json === 'object' && !Array.isArray(json)) {
      json = Object.fromEntries(Object.entries(json).map(([k, v]) => [k, Array.isArray(v) && v.length === 2 && typeof v[1] === 'string' ? v[1] : v]));
    }
    try {
      return { labels: parseLabels(JSON.stringify(json), where), source: resolve(file) };
    } catch (e) {
      if (e instanceof RelpropError) fail('BAD_OPTION', e.message);
      throw e;
    }
  }
  const labels = text.replace(/\r/g, '').replace(/\n+$/, '').split('\n').map((l) => l.trim());
  if (labels.length === 0 || labels.some((l) => l === '')) fail('BAD_OPTION', `${where}: one label a line, with no empty lines (line ${labels.indexOf('') + 1} is empty)`);
  return { labels, source: resolve(file) };
}

/**
 * --model NAME|FILE (default DEFAULT_MODEL, resnet50-imagenet); --arch A --weights FILE: a state dict (see loadModel) in
 * that architecture; or --arch A alone: a built architecture with seeded random weights. Then
 * --preprocessing and --labels, and ImageNet's labels for a 1000-class head that has none.
 */
export async function resolveModel(o: ModelOptions, progress: Progress): Promise<ResolvedModel> {
  const labelsFile = o.labels === undefined ? undefined : readLabelsFile(o.labels);
  const { model: loaded, identity } = await modelOf(o, progress);
  const info = { ...loaded.info };
  const notes: string[] = [];
  if (o.preprocessing) {
    const [, h, w] = loaded.inputShape;
    info.preprocessing = preprocessingForSize(resolvePreprocessing(o.preprocessing, '--preprocessing'), h, w);
    info.inputRange = inputRangeOf(info.preprocessing, loaded.inputShape[0]);
    delete info.preprocessingGuess;
  } else if (info.preprocessingGuess && info.preprocessing) {
    notes.push(`preprocessing "${info.preprocessing.name}" is a guess (${info.preprocessingGuess}); give --preprocessing if the model was trained otherwise`);
  }
  let labels = info.labels ? 'the model' : 'none';
  if (labelsFile) {
    if (labelsFile.labels.length !== loaded.numClasses) fail('BAD_OPTION', `--labels "${o.labels}" has ${labelsFile.labels.length} labels; the model has ${loaded.numClasses} classes`);
    info.labels = labelsFile.labels;
    labels = labelsFile.source;
  } else if (!info.labels && loaded.numClasses === IMAGENET_LABELS.length) {
    info.labels = IMAGENET_LABELS;
    labels = 'imagenet';
    notes.push(`the model has 1000 classes and no labels: ImageNet's are used (give --labels FILE if its classes are others)`);
  }
  if (loaded.inputShape[0] === 1) notes.push('the model takes 1-channel input: photos are fed their luminance (0.299 R + 0.587 G + 0.114 B)');
  return { model: new Model(loaded.graph, info), identity, labels, notes };
}

/** A file as its path, size and modification time. */
function fileIdentity(file: string, arch?: string): ModelIdentity {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(file);
  } catch {
    return fail('NOT_FOUND', `no model file "${file}"`);
  }
  return { file: resolve(file), bytes: Number(st.size), modified: st.mtime.toISOString(), ...(arch ? { arch } : {}) };
}

async function modelOf(o: ModelOptions, progress: Progress): Promise<{ model: Model; identity: ModelIdentity }> {
  const size = parseInputSize(o.inputSize);
  if (o.weights) {
    if (!o.arch) fail('BAD_OPTION', '--weights FILE needs --arch, the architecture the file fills (see `relprop architectures`)');
    if (o.model) fail('BAD_OPTION', 'give --model or --arch with --weights, not both');
    if (o.width || o.weightSeed) fail('BAD_OPTION', '--width and --weight-seed apply to random weights; the file gives the width');
    return { model: await loadModel(o.weights, { arch: o.arch, inputSize: size }), identity: fileIdentity(o.weights, o.arch) };
  }
  if (o.arch) {
    if (o.model) fail('BAD_OPTION', 'give --model or --arch, not both');
    if (size && size[0] !== size[1]) fail('BAD_OPTION', `--input-size ${o.inputSize}: the architectures take square inputs`);
    const options = { inputSize: size?.[0], width: int(o.width, '--width'), seed: int(o.weightSeed, '--weight-seed') };
    const model = buildModel(o.arch, options);
    const [, h, w] = model.inputShape;
    return { model: new Model(model.graph, { ...model.info, preprocessing: defaultPreprocessing(o.arch, h, w) }), identity: { arch: o.arch, ...options } };
  }
  if (o.width || o.weightSeed) fail('BAD_OPTION', '--width and --weight-seed apply to --arch only');
  const source = o.model ?? DEFAULT_MODEL;
  if (/\.(pth|pt|bin|pdparams|safetensors)$/i.test(source)) {
    fail('BAD_OPTION', `"${source}" holds weights only: give it as --weights with the architecture it fills, --arch A --weights ${source} (see \`relprop architectures\`)`);
  }
  const model = await loadModel(source, { onProgress: progress.fetch, inputSize: size });
  const known = (await knownModels()).find((m) => m.name === source);
  const identity: ModelIdentity = known ? { known: known.name, npm: known.source.npm, version: known.source.version, integrity: known.source.integrity } : fileIdentity(source);
  return { model, identity };
}
