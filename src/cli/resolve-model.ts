import { fail } from '../errors.js';
import { loadModel } from '../io/load.js';
import { buildModel } from '../model/builders/index.js';
import { Model } from '../model.js';
import { defaultPreprocessing, inputRangeOf, preprocessingForSize, resolvePreprocessing } from '../model/preprocessing.js';
import type { Progress } from './progress.js';

export interface ModelOptions {
  model?: string;
  arch?: string;
  weights?: string;
  inputSize?: string;
  width?: string;
  seed?: string;
  preprocessing?: string;
}

const int = (v: string | undefined, what: string): number | undefined => {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) fail('BAD_OPTION', `${what} must be a positive integer, got "${v}"`);
  return Number(v);
};

/**
 * --model NAME|FILE (default resnet50-imagenet); --arch A --weights FILE: a state dict (see loadModel) in
 * that architecture; or --arch A alone: a built architecture with seeded random weights.
 */
export async function resolveModel(o: ModelOptions, progress: Progress): Promise<Model> {
  const model = await modelOf(o, progress);
  if (!o.preprocessing) return model;
  const [, h, w] = model.inputShape;
  const p = preprocessingForSize(resolvePreprocessing(o.preprocessing, '--preprocessing'), h, w);
  return new Model(model.graph, { ...model.info, preprocessing: p, inputRange: inputRangeOf(p) });
}

async function modelOf(o: ModelOptions, progress: Progress): Promise<Model> {
  if (o.weights) {
    if (!o.arch) fail('BAD_OPTION', '--weights FILE needs --arch, the architecture the file fills (see `relprop architectures`)');
    if (o.model) fail('BAD_OPTION', 'give --model or --arch with --weights, not both');
    if (o.width || o.seed) fail('BAD_OPTION', '--width and --seed apply to random weights; the file gives the width');
    const size = int(o.inputSize, '--input-size');
    return loadModel(o.weights, { arch: o.arch, inputShape: size ? [3, size, size] : undefined });
  }
  if (o.arch) {
    if (o.model) fail('BAD_OPTION', 'give --model or --arch, not both');
    const model = buildModel(o.arch, { inputSize: int(o.inputSize, '--input-size'), width: int(o.width, '--width'), seed: int(o.seed, '--seed') });
    const [, h, w] = model.inputShape;
    return new Model(model.graph, { ...model.info, preprocessing: defaultPreprocessing(o.arch, h, w) });
  }
  if (o.inputSize || o.width || o.seed) fail('BAD_OPTION', '--input-size, --width and --seed apply to --arch only');
  return loadModel(o.model ?? 'resnet50-imagenet', { onProgress: progress.fetch });
}
