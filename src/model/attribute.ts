/** model.attribute: a method's request checked and resolved, then run on the model's passes. */
import { resolveMethod } from '../attribution/index.js';
import { integer } from '../attribution/params.js';
import { fail } from '../errors.js';
import { checkInput, parseTargets, resolveTargets } from '../validate.js';
import type { Passes } from '../attribution/types.js';
import type { Graph } from '../graph/graph.js';
import type { ModelInfo } from './model-info.js';
import { ATTRIBUTE_OPTIONS, engineRequest, type AttributeOptions, type EngineRequest } from './request.js';

export interface Attribution {
  /** One value per input element (N x C x H x W) unless the method says (Grad-CAM: N x 1 x H x W). */
  attribution: Float32Array;
  /** The shape of `attribution`. */
  shape: number[];
  /** Logits of every image, N x classes. */
  logits: Float32Array;
  /** The explained class of each image. */
  targets: number[];
  /** Grad-CAM's map at its layer, N x h x w, and its h and w. */
  cam?: Float32Array;
  camShape?: [number, number];
  /** The method and its parameters in full, defaults filled in. */
  settings: { method: string } & Record<string, unknown>;
  /** How to draw it: signed around zero, or one-sided (Grad-CAM). */
  shading: 'signed' | 'positive';
}

/** What attribute needs of a model. */
export interface AttributeHost {
  readonly inputShape: readonly number[];
  readonly numClasses: number;
  readonly info: ModelInfo;
  canonicalGraph(foldBatchNorm: boolean): Graph;
  passes(request: EngineRequest, chunk: number): Promise<Passes>;
}

export async function attribute(model: AttributeHost, input: Float32Array, options: AttributeOptions): Promise<Attribution> {
  if (options === null || typeof options !== 'object') fail('BAD_OPTION', `model.attribute: options must be an object`);
  const { x, batch } = checkInput(input, model.inputShape, options.batch);
  const { method = 'lrp', target, internalBatch, batch: _, backend, memoryLimit, kernels, threads, ...params } = options;
  const chunk = integer(internalBatch, 'internalBatch', 4);
  const graph = model.canonicalGraph(true);
  const resolved = resolveMethod(method, params, ATTRIBUTE_OPTIONS, { graph, inputShape: model.inputShape, preprocessing: model.info.preprocessing }, 'model.attribute');
  const requested = parseTargets(target, batch, model.numClasses, model.info.labels);
  const passes = await model.passes(engineRequest({ backend, memoryLimit, kernels, threads }), chunk);
  // A method that perturbs the images needs their classes first: one forward finds them.
  let logits: Float32Array | undefined;
  let targets: (number | undefined)[] = requested;
  if (!resolved.findsTargets && requested.some((t) => t === undefined)) {
    logits = await passes.forward(x, batch);
    targets = resolveTargets(requested, logits, model.numClasses);
  }
  const result = await resolved.run(passes, x, batch, targets);
  logits = result.outputs?.logits ?? logits ?? (await passes.forward(x, batch));
  const [, H, W] = model.inputShape;
  return {
    attribution: result.attribution,
    shape: [batch, result.attribution.length / (batch * H * W), H, W],
    logits,
    targets: result.outputs?.targets ?? (targets as number[]),
    ...(result.cam ? { cam: result.cam, camShape: result.camShape } : {}),
    settings: { method: resolved.method, ...resolved.settings },
    shading: resolved.shading,
  };
}
