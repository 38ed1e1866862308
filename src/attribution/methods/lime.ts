/**
 * lime, as Captum's Lime with its exponential cosine kernel, on segments of each image:
 * 1. `samples` masks z in {0, 1}^F over the F segments, each segment kept with probability `keep`;
 * 2. each mask gives x' = z * x + (1 - z) * fill (painted over its segments' pixels, all channels), with
 *    fill a number or each channel's mean over the image ('mean'), and the target logit f(x');
 * 3. each sample weighs w = exp(-d^2 / (2 kernelWidth^2)), d = 1 - cos(x, x') taken between the inputs
 *    themselves (flattened), as Captum's default similarity does (not between the masks);
 * 4. a linear model with an intercept is fitted to (z, f(x')) weighted by w: Ridge (alpha 1, as
 *    scikit-learn's and the lime package's default) or least squares; the attribution is each
 *    segment's coefficient painted over it (the intercept is left out, as Captum does).
 * Captum's Lime fits a Lasso (alpha 0.01) by default and its kernel width is 1.0; the lime package's
 * image explainer uses 0.25 (here the default), Ridge, and mean-coloured or black fills.
 * Segments: 'slic' (../segments/slic.ts, 100 superpixels of the photo, as skimage's defaults),
 * 'grid' (16 x 16 pixel cells), or a label map of H x W (or batch x H x W) integers from 0.
 */
import { fail } from '../../errors.js';
import type { Preprocessing } from '../../model/preprocessing.js';
import { weightedLinearFit } from '../linear-fit.js';
import { copiesFit, finite, integer, oneOf, seed as seedOf } from '../params.js';
import { Random } from '../random.js';
import { gridSegments } from '../segments/grid.js';
import { slic } from '../segments/slic.js';
import type { MethodDefinition, Passes } from '../types.js';

/** Perturbed copies forwarded at once (64 of 3 x 224 x 224 are 38 MB). */
const GROUP = 64;
/** The normal equations take F^2 doubles: 4096 segments are 128 MiB. */
const MAX_SEGMENTS = 4096;
const GRID_CELL = 16;

export type Fit = 'ridge' | 'least-squares';

export interface LimeFit {
  samples: number;
  fill: 'mean' | number;
  kernelWidth: number;
  fit: Fit;
}

export const lime: MethodDefinition = {
  name: 'lime',
  description: 'a weighted linear model of the logit over kept and removed segments (Captum Lime)',
  params: ['segments', 'samples', 'keep', 'fill', 'kernelWidth', 'fit', 'seed'],
  resolve: (options, { inputShape, preprocessing }) => {
    const [C, H, W] = inputShape;
    const samples = integer(options.samples, 'samples', 1000, 2);
    const keep = finite(options.keep, 'keep', 0.5, (v) => v > 0 && v < 1, ' strictly between 0 and 1');
    const fill = options.fill === 'mean' || options.fill === undefined ? 'mean' : finite(options.fill, 'fill', 0);
    const kernelWidth = finite(options.kernelWidth, 'kernelWidth', 0.25, (v) => v > 0, ' > 0');
    const fit = oneOf<Fit>(options.fit, 'fit', 'ridge', ['ridge', 'least-squares']);
    const seed = seedOf(options.seed);
    const segments = segmentsOf(options.segments, H, W);
    const settings: LimeFit = { samples, fill, kernelWidth, fit };
    return {
      method: 'lime',
      settings: { segments: typeof segments === 'string' ? segments : 'map', samples, keep, fill, kernelWidth, fit, seed },
      shading: 'signed',
      findsTargets: false,
      run: async (passes, x, batch, targets) => {
        const per = C * H * W;
        const attribution = new Float32Array(x.length);
        const random = new Random(seed);
        for (let b = 0; b < batch; b++) {
          const image = x.subarray(b * per, (b + 1) * per);
          const labels = typeof segments === 'string' ? segment(segments, image, C, H, W, preprocessing) : segments.length === H * W ? segments : segments.subarray(b * H * W, (b + 1) * H * W);
          const F = countSegments(labels);
          copiesFit(samples * F, `${samples} masks of ${F} segments`);
          const masks = new Uint8Array(samples * F);
          for (let i = 0; i < masks.length; i++) masks[i] = random.uniform() < keep ? 1 : 0;
          const { coefficients } = await limeFit(passes, image, targets[b]!, labels, F, masks, settings);
          for (let i = 0; i < per; i++) attribution[b * per + i] = coefficients[labels[i % (H * W)]];
        }
        return { attribution };
      },
    };
  },
};

/**
 * LIME on one image once its masks are drawn (samples x F, row by row): the perturbed logits, their
 * weights and the fit. Apart from drawing, all of LIME: what a Captum fixture with its masks checks.
 */
export async function limeFit(passes: Passes, image: Float32Array, target: number, labels: Int32Array, F: number, masks: Uint8Array, settings: LimeFit): Promise<{ coefficients: Float64Array; intercept: number; logits: Float64Array; weights: Float64Array }> {
  const { samples, kernelWidth } = settings;
  const [C, H, W] = passes.inputShape;
  const hw = H * W;
  const baseline = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    if (settings.fill !== 'mean') baseline[c] = settings.fill;
    else {
      let sum = 0;
      for (let i = 0; i < hw; i++) sum += image[c * hw + i];
      baseline[c] = sum / hw;
    }
  }
  let norm = 0;
  for (let i = 0; i < image.length; i++) norm += image[i] * image[i];
  const logits = new Float64Array(samples);
  const weights = new Float64Array(samples);
  const k = passes.numClasses;
  for (let s0 = 0; s0 < samples; s0 += GROUP) {
    const n = Math.min(GROUP, samples - s0);
    const copies = new Float32Array(n * image.length);
    for (let j = 0; j < n; j++) {
      const mask = masks.subarray((s0 + j) * F, (s0 + j + 1) * F);
      const copy = copies.subarray(j * image.length, (j + 1) * image.length);
      let dot = 0;
      let norm2 = 0;
      for (let c = 0; c < C; c++) {
        for (let i = 0; i < hw; i++) {
          const e = c * hw + i;
          const v = mask[labels[i]] ? image[e] : baseline[c];
          copy[e] = v;
          dot += image[e] * v;
          norm2 += v * v;
        }
      }
      // torch's CosineSimilarity: x . x' / sqrt(max(|x|^2 |x'|^2, eps^2)), eps 1e-8.
      const d = 1 - dot / Math.sqrt(Math.max(norm * norm2, 1e-16));
      weights[s0 + j] = Math.exp(-(d * d) / (2 * kernelWidth * kernelWidth));
    }
    const out = await passes.forward(copies, n);
    for (let j = 0; j < n; j++) logits[s0 + j] = out[j * k + target];
  }
  const { coefficients, intercept } = weightedLinearFit(masks, logits, weights, F, settings.fit === 'ridge' ? 1 : 0);
  return { coefficients, intercept, logits, weights };
}

function segmentsOf(spec: unknown, H: number, W: number): 'slic' | 'grid' | Int32Array {
  if (spec === undefined || spec === 'slic' || spec === 'grid') return (spec ?? 'slic') as 'slic' | 'grid';
  if (!(Array.isArray(spec) || ArrayBuffer.isView(spec))) return fail('BAD_OPTION', `segments must be 'slic', 'grid' or a map of H x W integers from 0, got ${JSON.stringify(spec)}`);
  const labels = Int32Array.from(spec as ArrayLike<number>);
  if (labels.length === 0 || labels.length % (H * W) !== 0) fail('BAD_OPTION', `segments has ${labels.length} labels; one image has ${H} x ${W} = ${H * W} pixels`);
  for (let i = 0; i < labels.length; i++) {
    const v = (spec as ArrayLike<number>)[i];
    if (!Number.isInteger(v) || v < 0 || v >= MAX_SEGMENTS) fail('BAD_OPTION', `segments[${i}] is ${v}; labels must be integers from 0 to ${MAX_SEGMENTS - 1}`);
  }
  return labels;
}

function countSegments(labels: Int32Array): number {
  let F = 0;
  for (let i = 0; i < labels.length; i++) F = Math.max(F, labels[i] + 1);
  return F;
}

/** An image's segments: SLIC on its pixels (the model's preprocessing undone when known) or a grid. */
function segment(kind: 'slic' | 'grid', image: Float32Array, C: number, H: number, W: number, preprocessing: Preprocessing | undefined): Int32Array {
  if (kind === 'grid') return gridSegments(H, W, GRID_CELL);
  const hw = H * W;
  const pixels = new Float64Array(hw * C);
  for (let c = 0; c < C; c++) {
    // The photo's channel c (RGB), from the network's channel: value * std + mean = pixel * scale.
    const from = preprocessing && C === 3 && preprocessing.channelOrder === 'BGR' ? 2 - c : c;
    const undo = (v: number) => (preprocessing && C === 3 ? (v * preprocessing.std[from] + preprocessing.mean[from]) / preprocessing.scale : v);
    for (let i = 0; i < hw; i++) pixels[i * C + c] = undo(image[from * hw + i]);
  }
  return slic(pixels, H, W, C);
}
