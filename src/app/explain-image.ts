/**
 * Explains photos end to end: decode, preprocess as the model's manifest says, predict, explain the
 * chosen class, and render. The CLI is a thin layer over this; so can a server or a notebook be.
 */
import { fail } from '../errors.js';
import { checkOptions } from '../options.js';
import { decodeImage, type RgbImage } from '../image/decode.js';
import { preprocessImage, type PreparedImage } from '../image/preprocess.js';
import { DEFAULT_COMPOSITE, resolveComposite, type CompositeSpec } from '../composites.js';
import type { Backend, Model, Target } from '../model.js';
import { classOf } from '../validate.js';
import { PREPROCESSING, preprocessingForSize, type Preprocessing } from '../model/preprocessing.js';
import { softmaxRows as softmax } from '../ops/softmax.js';
import { channelSum } from '../render/heatmap.js';
import { renderPanel, type PanelOptions, type RenderedPanel } from '../render/panel.js';
import { encodeNpy } from '../render/npy.js';

export interface ClassScore {
  index: number;
  label: string;
  probability: number;
  logit: number;
}

export interface ImageExplanation {
  source: string;
  /** The composite's name. */
  composite: string;
  photo: RgbImage;
  prepared: PreparedImage;
  top: ClassScore[];
  target: ClassScore;
  /** Relevance of the network input, [3, H, W]. */
  relevance: Float32Array;
  /** Relevance summed over channels, [H, W]. */
  map: Float32Array;
  milliseconds: { preprocess: number; explain: number };
}

export interface ExplainImageOptions {
  composite?: CompositeSpec;
  /** 'top1' (default), a class index, or a label. */
  target?: Target;
  topk?: number;
  backend?: Backend;
}

const EXPLAIN_IMAGE_OPTIONS = ['composite', 'target', 'topk', 'backend'] as const satisfies readonly (keyof ExplainImageOptions)[];

const PANEL_OPTIONS = ['cmap', 'normalize', 'clipPercentile', 'overlay', 'caption', 'height', 'modelName'] as const;

export function labelOf(model: Model, index: number): string {
  return model.info.labels?.[index] ?? `class ${index}`;
}

/** The preprocessing a model asks for; ImageNet torchvision's for models that do not say. */
export function preprocessingOf(model: Model): Preprocessing {
  const p = model.info.preprocessing ?? PREPROCESSING.torchvision;
  const [, h, w] = model.inputShape;
  return preprocessingForSize(p, h, w);
}

/** The class a target names (see classOf), or undefined for 'top1'. */
export function resolveClass(model: Model, spec: Target | undefined): number | undefined {
  return classOf(spec, model.numClasses, model.info.labels);
}

export async function explainImage(model: Model, source: string | Uint8Array, options: ExplainImageOptions = {}): Promise<ImageExplanation> {
  checkOptions(options, EXPLAIN_IMAGE_OPTIONS, 'explainImage');
  if (model.inputShape[0] !== 3) fail('BAD_INPUT', `the model takes ${model.inputShape[0]}-channel inputs; photos give 3 (RGB)`);
  const topk = options.topk ?? 5;
  if (!Number.isInteger(topk) || topk < 1) fail('BAD_OPTION', `explainImage: topk must be a positive integer, got ${topk}`);
  // Checked before the photo is decoded; one pass then: explain picks the top-1 class itself.
  const composite = resolveComposite(options.composite ?? DEFAULT_COMPOSITE).name;
  const target = resolveClass(model, options.target);
  if (options.backend !== 'reference') model.checkMemory();
  const t0 = performance.now();
  const where = typeof source === 'string' ? source : 'image bytes';
  const photo = await decodeImage(source, where);
  const prepared = preprocessImage(photo, preprocessingOf(model));
  const t1 = performance.now();
  const e = await model.explain(prepared.input, { composite: options.composite, target, backend: options.backend });
  const probs = softmax(e.logits, 1);
  const t2 = performance.now();
  const score = (i: number): ClassScore => ({ index: i, label: labelOf(model, i), probability: probs[i], logit: e.logits[i] });
  const k = Math.min(topk, probs.length);
  const order = Array.from(probs.keys()).sort((a, b) => probs[b] - probs[a]).slice(0, k);
  const [c, h, w] = model.inputShape;
  return {
    source: where,
    composite,
    photo,
    prepared,
    top: order.map(score),
    target: score(e.target),
    relevance: e.relevance,
    map: channelSum(e.relevance, c, h, w),
    milliseconds: { preprocess: t1 - t0, explain: t2 - t1 },
  };
}

/** The panel PNG of an explanation: photo | heatmap | overlay, captioned with the explained class. */
export async function panelOf(x: ImageExplanation, options: PanelOptions & { modelName?: string } = {}): Promise<RenderedPanel> {
  checkOptions(options, PANEL_OPTIONS, 'panelOf');
  const caption =
    options.caption ??
    `${x.target.label} (${x.target.index}) p=${x.target.probability.toFixed(3)} | ${x.composite}${options.modelName ? ` | ${options.modelName}` : ''}`;
  return renderPanel(x.photo, x.map, x.prepared.height, x.prepared.width, x.prepared.window, { ...options, caption });
}

/** The raw relevance as a .npy file of shape (1, C, H, W). */
export function npyOf(x: ImageExplanation): Uint8Array {
  return encodeNpy(x.relevance, [1, 3, x.prepared.height, x.prepared.width]);
}
