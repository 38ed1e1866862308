/**
 * evaluate: how faithful an attribution is to the model, as a curve of scores while the input is
 * perturbed in the map's order (region perturbation, pixel flipping, deletion, insertion: ./metrics),
 * and the curve's AOPC and AUC. A walk whose steps each change one region (region perturbation) runs as
 * a series: each image computed from the one before, only what the region reaches (model.passes'
 * forwardSeries, one series a thread); the others' copies run in batches spread over the threads.
 */
import { Random } from '../attribution/random.js';
import { copiesFit, finite, integer, oneOf, seed } from '../attribution/params.js';
import { fail } from '../errors.js';
import type { Model } from '../model/model.js';
import { engineRequest, RUN_OPTIONS, type RunOptions, type Target } from '../model/request.js';
import { checkOptions } from '../options.js';
import { checkInput, parseTargets, resolveTargets } from '../validate.js';
import { FILL_NAMES, type Fill } from './fill.js';
import { causalWalk } from './metrics/causal.js';
import { flipWalk } from './metrics/pixel-flipping.js';
import { regionWalk } from './metrics/region-perturbation.js';
import { ORDERS, type Order } from './order.js';
import type { Walk } from './walk.js';
import { changeBetween, NO_CHANGE, type InputChange } from '../graph/input-change.js';

export const METRICS = ['region-perturbation', 'pixel-flipping', 'deletion', 'insertion'] as const;
export type Metric = (typeof METRICS)[number];

export interface EvaluateOptions extends RunOptions {
  metric: Metric;
  /** Region perturbation and pixel flipping: 'morf' (default), 'lerf' or 'random' (seeded). */
  order?: Order;
  /** Region perturbation: the regions' side (default 8). */
  patch?: number;
  /** Perturbation steps (region perturbation: default 100; the others: until all is perturbed). */
  steps?: number;
  /** Pixel flipping: values a step (default: a hundredth of them); deletion, insertion: pixels a step (default 224, RISE's). */
  pixelsPerStep?: number;
  /** Default 'black' (Quantus's), deletion 0 (RISE's), insertion 'blur' (RISE's). */
  fill?: Fill;
  /** 'probability' (default: softmax, or sigmoid for one-output heads) or 'logit' of the target. */
  score?: 'probability' | 'logit';
  /** Class to score: an index or label, one per image; default each image's top-1 before perturbation. */
  target?: Target | Target[];
  /** Seed of the random order and the 'uniform' fill (default 0). */
  seed?: number;
  /** Images per engine run (default 4). */
  internalBatch?: number;
}

export interface Evaluation {
  /** One curve per image: steps + 1 scores, after 0, 1, ..., steps perturbations. */
  curves: Float64Array[];
  /** Per image: the mean over k = 0..steps of score_0 - score_k (Samek et al.). */
  aopc: number[];
  /** Per image: the curve's area over [0, 1] by the trapezoid rule, (sum - first/2 - last/2) / steps (RISE's auc). */
  auc: number[];
  targets: number[];
  /** The metric and its parameters in full, defaults filled in. */
  settings: { metric: Metric } & Record<string, unknown>;
}

const EVALUATE_OPTIONS = [...RUN_OPTIONS, 'metric', 'order', 'patch', 'steps', 'pixelsPerStep', 'fill', 'score', 'target', 'seed', 'internalBatch'] as const;

/** Copies scored per batched pass: enough pieces for every thread, and 38 MiB at 224 x 224. */
const BLOCK = 64;

export async function evaluate(model: Model, input: Float32Array, attribution: Float32Array, options: EvaluateOptions): Promise<Evaluation> {
  const shape = model.inputShape;
  const [C, H, W] = shape;
  const { x, batch } = checkInput(input, shape, options?.batch);
  const mapChannels = checkMap(attribution, batch, C, H * W);
  const { settings, walk } = resolveMetric(options, shape, mapChannels);
  const chunk = integer(options.internalBatch, 'internalBatch', 4);
  const requested = parseTargets(options.target, batch, model.numClasses, model.info.labels);
  const per = C * H * W;
  copiesFit(BLOCK * per * 4, `${BLOCK} copies of a ${C} x ${H} x ${W} input`);
  const passes = await model.passes(engineRequest(options), chunk);
  const targets = requested.some((t) => t === undefined) ? resolveTargets(requested, await passes.forward(x, batch), model.numClasses) : (requested as number[]);

  const curves: Float64Array[] = [];
  const block = new Float32Array(BLOCK * per);
  for (let b = 0; b < batch; b++) {
    // Each image's draws from the seed itself: an image's curve is the same in any batch.
    const w = walk(x.subarray(b * per, (b + 1) * per), attribution.subarray(b * mapChannels * H * W, (b + 1) * mapChannels * H * W), new Random(settings.seed as number));
    const curve = new Float64Array(w.steps + 1);
    const score = (logits: Float32Array, m: number, k0: number) => {
      const scores = settings.score === 'logit' ? Float64Array.from(logits) : model.probabilities(logits, m);
      for (let i = 0; i < m; i++) curve[k0 + i] = scores[i * model.numClasses + targets[b]];
    };
    if (w.local) {
      const [start, changes] = series(w, shape);
      score(await passes.forwardSeries(start, changes), w.steps + 1, 0);
    } else {
      for (let k0 = 0; k0 <= w.steps; k0 += BLOCK) {
        const m = Math.min(BLOCK, w.steps + 1 - k0);
        for (let i = 0; i < m; i++) w.write(k0 + i, block.subarray(i * per, (i + 1) * per));
        score(await passes.forward(block.subarray(0, m * per), m), m, k0);
      }
    }
    curves.push(curve);
  }
  return { curves, aopc: curves.map(aopc), auc: curves.map(auc), targets, settings };
}

/**
 * A metric request checked, its defaults filled (the settings a result reports), and how it perturbs
 * one image; for inputs of `shape` and maps of `mapChannels` channels. Fails with BAD_OPTION naming
 * what is wrong, before anything runs.
 */
export function resolveMetric(options: EvaluateOptions, shape: readonly number[], mapChannels: number): { settings: Evaluation['settings']; walk: (x: Float32Array, map: Float32Array, random: Random) => Walk } {
  if (options === null || typeof options !== 'object') fail('BAD_OPTION', 'evaluate: options must be an object with a metric');
  checkOptions(options, EVALUATE_OPTIONS, 'evaluate');
  const [C, H, W] = shape;
  if (options.metric === undefined) fail('BAD_OPTION', `evaluate: options.metric is required: one of ${METRICS.join(', ')}`);
  if ((options.metric as string) === 'randomisation') fail('BAD_OPTION', 'evaluate scores a map by perturbing the input; the randomisation test runs the method itself: randomisation(model, input, { method }, options)');
  const metric = oneOf(options.metric, 'metric', undefined as unknown as Metric, METRICS);
  const causal = metric === 'deletion' || metric === 'insertion';
  // A parameter another metric takes is refused, not ignored (it would still change nothing).
  if (metric !== 'region-perturbation' && options.patch !== undefined) fail('BAD_OPTION', `patch is region-perturbation's; ${metric} steps by pixelsPerStep`);
  if (metric === 'region-perturbation' && options.pixelsPerStep !== undefined) fail('BAD_OPTION', `pixelsPerStep is for pixel-flipping, deletion and insertion; region-perturbation steps by patch`);
  const order = oneOf(options.order, 'order', 'morf', causal ? ['morf'] : ORDERS);
  const steps = options.steps === undefined ? (metric === 'region-perturbation' ? 100 : undefined) : integer(options.steps, 'steps', 1);
  const fill = checkFill(options.fill ?? (metric === 'deletion' ? 0 : metric === 'insertion' ? 'blur' : 'black'));
  const score = oneOf(options.score, 'score', 'probability', ['probability', 'logit'] as const);
  const common = { order, fill, score, seed: seed(options.seed) };
  if (metric === 'region-perturbation') {
    const patch = integer(options.patch, 'patch', 8);
    if (patch > Math.max(H, W)) fail('BAD_OPTION', `patch must be at most the input's ${H} x ${W}, got ${patch}`);
    const regions = Math.ceil(H / patch) * Math.ceil(W / patch);
    const taken = Math.min(steps!, regions);
    return { settings: { metric, ...common, patch, steps: taken }, walk: (x, map, random) => regionWalk(x, map, mapChannels, shape, { patch, steps: taken, order, fill }, random) };
  }
  if (metric === 'pixel-flipping') {
    const features = (mapChannels === 1 ? 1 : C) * H * W;
    const pixelsPerStep = integer(options.pixelsPerStep, 'pixelsPerStep', Math.ceil(features / 100));
    const all = Math.ceil(features / pixelsPerStep);
    const taken = Math.min(steps ?? all, all);
    return { settings: { metric, ...common, pixelsPerStep, steps: taken }, walk: (x, map, random) => flipWalk(x, map, mapChannels, shape, { pixelsPerStep, steps: taken, order, fill }, random) };
  }
  const pixelsPerStep = integer(options.pixelsPerStep, 'pixelsPerStep', 224);
  const all = Math.ceil((H * W) / pixelsPerStep);
  const taken = Math.min(steps ?? all, all);
  return { settings: { metric, ...common, pixelsPerStep, steps: taken }, walk: (x, map, random) => causalWalk(metric, x, map, mapChannels, shape, { pixelsPerStep, steps: taken, fill }, random) };
}

/** A walk's first image and each step's change from the one before. */
function series(w: Walk, shape: readonly number[]): [Float32Array, InputChange[]] {
  const per = shape.reduce((a, b) => a * b, 1);
  const start = new Float32Array(per);
  w.write(0, start);
  const [last, next] = [start.slice(), new Float32Array(per)];
  const changes: InputChange[] = [];
  for (let k = 1; k <= w.steps; k++) {
    w.write(k, next);
    changes.push(changeBetween(last, next, shape) ?? NO_CHANGE);
    last.set(next);
  }
  return [start, changes];
}

/** Samek et al.'s AOPC of one curve: the mean over k = 0..steps of score_0 - score_k. */
export function aopc(curve: ArrayLike<number>): number {
  let s = 0;
  for (let k = 0; k < curve.length; k++) s += curve[0] - curve[k];
  return s / curve.length;
}

/** RISE's auc: (sum - first/2 - last/2) / (n - 1), the trapezoid rule over [0, 1]. */
export function auc(curve: ArrayLike<number>): number {
  const n = curve.length;
  if (n < 2) return curve[0];
  let s = 0;
  for (let k = 0; k < n; k++) s += curve[k];
  return (s - curve[0] / 2 - curve[n - 1] / 2) / (n - 1);
}

/** The map's channels: the image's C, or 1 (N x 1 x H x W or N x H x W); every value finite. */
function checkMap(map: unknown, batch: number, C: number, plane: number): number {
  if (!(map instanceof Float32Array)) fail('BAD_INPUT', `attribution must be a Float32Array, got ${map === null ? 'null' : typeof map}`);
  const channels = map.length === batch * C * plane ? C : map.length === batch * plane ? 1 : 0;
  if (!channels) fail('BAD_INPUT', `attribution has ${map.length} values; for ${batch} image${batch > 1 ? 's' : ''} it needs ${batch} x ${C} x ${plane} (the input's shape) or ${batch} x ${plane} (one channel)`);
  for (let i = 0; i < map.length; i++) {
    if (!Number.isFinite(map[i])) fail('BAD_INPUT', `attribution[${i}] is ${map[i]} (image ${Math.floor(i / (channels * plane))}); the map must be finite numbers`);
  }
  return channels;
}

function checkFill(fill: unknown): Fill {
  if (typeof fill === 'number') return finite(fill, 'fill', 0);
  if (!FILL_NAMES.includes(fill as (typeof FILL_NAMES)[number])) fail('BAD_OPTION', `unknown fill "${String(fill)}"; a number or one of ${FILL_NAMES.join(', ')}`);
  return fill as Fill;
}
