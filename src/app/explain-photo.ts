/**
 * Explains decoded photos: preprocess as the model says, predict, explain the chosen class. Shared by
 * Node's explainImage (explain-image.ts, which decodes files) and the browser demo's worker (which
 * decodes with the platform): one implementation of everything after decoding.
 */
import { fail } from '../errors.js';
import { checkOptions } from '../options.js';
import type { RgbImage } from '../image/rgb.js';
import { preprocessImage, type PreparedImage } from '../image/preprocess.js';
import { defaultCompositeFor, resolveComposite, type Composite, type CompositeSpec } from '../composites.js';
import type { Model } from '../model/model.js';
import { engineRequest, type Backend, type EngineRequest, type Target } from '../model/request.js';
import type { LayerRelevance } from '../propagation/types.js';
import { classOf } from '../validate.js';
import { PREPROCESSING, preprocessingForSize, type Preprocessing } from '../model/preprocessing.js';
import { channelSum } from '../render/heatmap.js';

export interface ClassScore {
  index: number;
  label: string;
  probability: number;
  logit: number;
}

export interface ImageExplanation {
  source: string;
  /** The composite's name (LRP), or the method's (another method). */
  composite: string;
  /** How the map is drawn: signed around zero, or one-sided (Grad-CAM). */
  shading: 'signed' | 'positive';
  photo: RgbImage;
  prepared: PreparedImage;
  top: ClassScore[];
  target: ClassScore;
  /** Relevance of the network input, [C, H, W] (C = 1 for a model fed the luminance, or for Grad-CAM's map). */
  relevance: Float32Array;
  /** Relevance summed over channels, [H, W]. */
  map: Float32Array;
  /**
   * This photo's decoding and preprocessing; `explain` is its batch's forward and relevance pass
   * divided by the batch's photos (one pass serves them all; a batch of one is the photo's own).
   */
  milliseconds: { decode: number; preprocess: number; explain: number };
  /** Relevance in and out of every node (with the `layers` option): where it is absorbed. */
  layers?: LayerRelevance[];
}

export interface ExplainImageOptions {
  composite?: CompositeSpec;
  /**
   * Another explainer than LRP (see model.attribute): a method's name, or `{ method, ...its parameters }`
   * (`{ method: 'integrated-gradients', steps: 32 }`). Default 'lrp' with `composite`.
   */
  method?: string | ({ method: string } & Record<string, unknown>);
  /** 'top1' (default), a class index, or a label. */
  target?: Target;
  topk?: number;
  backend?: Backend;
  /** Threads the explanation runs on (default: the model's). */
  threads?: number;
  /** Report relevance in and out of every node (one batch's: each sample's numbers). */
  layers?: boolean;
}

export const EXPLAIN_IMAGE_OPTIONS = ['composite', 'method', 'target', 'topk', 'backend', 'threads', 'layers'] as const satisfies readonly (keyof ExplainImageOptions)[];

export function labelOf(model: Model, index: number): string {
  return model.info.labels?.[index] ?? `class ${index}`;
}

/** The preprocessing a model asks for; ImageNet torchvision's for models built without one. */
export function preprocessingOf(model: Model): Preprocessing {
  const p = model.info.preprocessing ?? PREPROCESSING.torchvision;
  const [, h, w] = model.inputShape;
  return preprocessingForSize(p, h, w);
}

/** The class a target names (see classOf), or undefined for 'top1'. */
export function resolveClass(model: Model, spec: Target | undefined): number | undefined {
  return classOf(spec, model.numClasses, model.info.labels);
}

/** An image helper's options, checked and resolved once at its public entry, for batches of any size. */
export interface ImageRequest {
  readonly engine: EngineRequest;
  readonly composite: Composite;
  /** The class every photo is explained for; undefined: each photo's top-1. */
  readonly target: number | undefined;
  readonly topk: number;
  readonly layers: boolean;
  /** Another method than LRP with the composite, and its parameters (checked by model.attribute). */
  readonly method?: { readonly name: string; readonly params: Readonly<Record<string, unknown>> };
}

/**
 * The options of explainImage, explainImages and explainPhotos (`call` names the one in messages),
 * checked and resolved before any photo is decoded.
 */
export function imageRequest(model: Model, options: ExplainImageOptions, call: string): ImageRequest {
  checkOptions(options, EXPLAIN_IMAGE_OPTIONS, call);
  const topk = options.topk ?? 5;
  if (!Number.isInteger(topk) || topk < 1) fail('BAD_OPTION', `${call}: topk must be a positive integer, got ${topk}`);
  const engine = engineRequest({ backend: options.backend, threads: options.threads });
  const spec = options.method ?? 'lrp';
  const { method: name, ...params } = typeof spec === 'string' ? { method: spec } : spec;
  if (typeof name !== 'string') fail('BAD_OPTION', `${call}: method must be a method's name or { method, ...parameters }, got ${JSON.stringify(spec)}`);
  if (name !== 'lrp' && options.layers) fail('BAD_OPTION', `${call}: layers (the conservation report) is LRP's; method ${name} has none`);
  const method = name === 'lrp' && Object.keys(params).length === 0 ? undefined : { name, params };
  return { engine, composite: resolveComposite(options.composite ?? defaultCompositeFor(model.graph)), target: resolveClass(model, options.target), topk, layers: options.layers ?? false, ...(method ? { method } : {}) };
}

/**
 * Explains decoded photos in one batch (one forward and backward pass over all of them, which keeps
 * every thread busy); each explanation is the one a batch of one would give, bit for bit. `decode`
 * gives each photo when its turn comes, after the options and the memory are checked.
 */
export async function explainPhotos(model: Model, sources: readonly string[], decode: (b: number) => Promise<RgbImage>, options: ExplainImageOptions = {}): Promise<ImageExplanation[]> {
  return explainRequested(model, sources, decode, imageRequest(model, options, 'explainPhotos'));
}

/** explainPhotos with its options resolved (by imageRequest): the image helpers' common path. */
export async function explainRequested(model: Model, sources: readonly string[], decode: (b: number) => Promise<RgbImage>, request: ImageRequest): Promise<ImageExplanation[]> {
  if (sources.length === 0) fail('BAD_OPTION', 'explainImages: no photos');
  const [c, h, w] = model.inputShape;
  // The model's, not the request's: checked before any photo is decoded.
  if (c !== 3 && c !== 1) fail('BAD_INPUT', `the model takes ${c}-channel inputs; photos give 3 (RGB) or, for 1-channel models, their luminance`);
  const batch = sources.length;
  if (request.engine.backend !== 'reference') model.checkMemory({ batch });
  const n = c * h * w;
  const photos: RgbImage[] = [];
  const prepared: PreparedImage[] = [];
  const times: { decode: number; preprocess: number }[] = [];
  const input = new Float32Array(batch * n);
  for (let b = 0; b < batch; b++) {
    const t0 = performance.now();
    photos.push(await decode(b));
    const t1 = performance.now();
    prepared.push(preprocessImage(photos[b], preprocessingOf(model), c as 1 | 3));
    input.set(prepared[b].input, b * n);
    times.push({ decode: t1 - t0, preprocess: performance.now() - t1 });
  }
  const t1 = performance.now();
  const { composite, topk, method } = request;
  const { engine } = request;
  const e = method
    ? await model
        .attribute(input, { ...method.params, method: method.name, batch, target: request.target, backend: engine.backend, threads: engine.threads, memoryLimit: engine.memoryLimit, kernels: engine.kernels })
        .then((a) => ({ relevance: a.attribution, logits: a.logits, targets: a.targets, channels: a.shape[1], shading: a.shading, layers: undefined }))
    : { ...(await model.run(input, { engine, batch, targets: sources.map(() => request.target), composite, initial: composite.initial, layers: request.layers })), channels: c, shading: 'signed' as const };
  const k = model.numClasses;
  const probs = model.probabilities(e.logits, batch);
  const t2 = performance.now();
  const per = e.channels * h * w;
  return sources.map((source, b) => {
    const layers = e.layers?.map((l) => ({ ...l, relevanceOut: [l.relevanceOut[b]], relevanceIn: [l.relevanceIn[b]] }));
    const p = probs.subarray(b * k, (b + 1) * k);
    const score = (i: number): ClassScore => ({ index: i, label: labelOf(model, i), probability: p[i], logit: e.logits[b * k + i] });
    const order = Array.from(p.keys()).sort((x, y) => p[y] - p[x]).slice(0, Math.min(topk, k));
    const relevance = e.relevance.slice(b * per, (b + 1) * per);
    return {
      source,
      composite: method ? method.name : composite.name,
      shading: e.shading,
      photo: photos[b],
      prepared: prepared[b],
      top: order.map(score),
      target: score(e.targets[b]),
      relevance,
      map: channelSum(relevance, e.channels, h, w),
      milliseconds: { ...times[b], explain: (t2 - t1) / batch },
      ...(layers ? { layers } : {}),
    };
  });
}

/** A panel's caption: the explained class, its probability, the composite (and the model). */
export function captionOf(x: Pick<ImageExplanation, 'target' | 'composite'>, modelName?: string): string {
  return `${x.target.label} (${x.target.index}) p=${x.target.probability.toFixed(3)} | ${x.composite}${modelName ? ` | ${modelName}` : ''}`;
}
