/**
 * The model parameter randomisation test (Adebayo et al. 2018, "Sanity checks for saliency maps") as
 * Quantus 0.6's MPRT: the layers with parameters (Conv2d, Linear, BatchNorm) randomised one after another
 * from the top, cascading (each stage keeps the layers randomised before it), each re-initialised as
 * PyTorch's reset_parameters does; the method's map computed again on each stage's model, for the same
 * classes, and compared with its map on the model itself by Spearman's rank correlation of the absolute
 * values, per image. A map that stays the same while the model is destroyed shows the image, not what
 * the model learnt: the lower the correlations, the better the method passes.
 */
import { integer, seed as checkSeed } from '../attribution/params.js';
import { Random } from '../attribution/random.js';
import { fail } from '../errors.js';
import { Graph } from '../graph/graph.js';
import type { GraphNode } from '../graph/nodes.js';
import { Model } from '../model/model.js';
import type { Attribution } from '../model/attribute.js';
import { RUN_OPTIONS, type AttributeOptions, type RunOptions, type Target } from '../model/request.js';
import { checkOptions } from '../options.js';
import { spearman } from './spearman.js';

export interface RandomisationOptions extends RunOptions {
  /** Classes explained at every stage: an index or label per image; default each image's top-1 on the model itself. */
  target?: Target | Target[];
  /**
   * Stages of the cascade: default one a layer (Quantus's); fewer take the top ceil(i L / steps) of the
   * L layers at stage i = 1..steps, the last stage always the whole model randomised.
   */
  steps?: number;
  /** Seed of the new parameters (default 0; every layer draws from seed + 1 afresh, as Quantus reseeds torch). */
  seed?: number;
  internalBatch?: number;
}

export interface Randomisation {
  /** Per stage, how many layers are randomised (the top ones) and the last of them. */
  layers: { randomised: number; last: string }[];
  /**
   * Per image, the rank correlation of |map| with the model's own |map|: steps + 1 values, the first
   * the own map's with itself (1, unless the map is constant: NaN), then one a stage.
   */
  correlations: Float64Array[];
  /** Per image, the mean over the stages (Quantus's return_average_correlation, without the unrandomised model). */
  mean: number[];
  /** Per image, the correlation with every layer randomised (Quantus's return_last_correlation). */
  last: number[];
  targets: number[];
  settings: { metric: 'randomisation'; method: string } & Record<string, unknown>;
}

const OPTIONS = [...RUN_OPTIONS, 'target', 'steps', 'seed', 'internalBatch'] as const;
const WITH_PARAMETERS = new Set(['Conv2d', 'Linear', 'BatchNorm']);

/**
 * How the method's `attribution` of `input` changes as the model's layers are randomised from the top.
 * `method` is what model.attribute takes (the method and its parameters).
 */
export async function randomisation(model: Model, input: Float32Array, method: AttributeOptions, options: RandomisationOptions = {}): Promise<Randomisation> {
  if (method === null || typeof method !== 'object') fail('BAD_OPTION', 'randomisation: the method must be an object, as model.attribute takes');
  if (options === null || typeof options !== 'object') fail('BAD_OPTION', 'randomisation: options must be an object');
  const perturbation = ['metric', 'patch', 'pixelsPerStep', 'fill', 'order', 'score'].filter((k) => k in options);
  if (perturbation.length) fail('BAD_OPTION', `randomisation takes steps, seed and the run's options; ${perturbation.join(', ')} ${perturbation.length > 1 ? 'are' : 'is'} evaluate's (the perturbation metrics')`);
  checkOptions(options, OPTIONS, 'randomisation');
  for (const key of ['target', 'batch', 'threads', 'backend', 'memoryLimit', 'kernels', 'internalBatch'] as const) {
    if (method[key] !== undefined) fail('BAD_OPTION', `randomisation: give ${key} in the options, not with the method`);
  }
  const layers = parameterLayers(model.graph).reverse();
  if (!layers.length) fail('BAD_OPTION', 'randomisation: the model has no layer with parameters to randomise');
  const steps = integer(options.steps, 'steps', layers.length);
  if (steps > layers.length) fail('BAD_OPTION', `randomisation: steps must be at most the model's ${layers.length} layers with parameters, got ${steps}`);
  const seed = checkSeed(options.seed);
  const { target, steps: _, seed: __, ...run } = options;
  const own = await model.attribute(input, { ...method, ...run, target });
  const batch = own.targets.length;
  const stages = Array.from({ length: steps }, (_, i) => Math.ceil(((i + 1) * layers.length) / steps));
  const correlations = Array.from({ length: batch }, () => new Float64Array(steps + 1));
  compare(own, own, 0, correlations);
  let nodes = [...model.graph.nodes];
  let done = 0;
  for (const [s, count] of stages.entries()) {
    for (; done < count; done++) {
      const layer = layers[done];
      nodes = nodes.map((n) => (n === layer ? reset(n, new Random(seed + 1)) : n));
    }
    const stage = new Model(new Graph(model.graph.input, nodes, model.graph.output), model.info);
    try {
      compare(own, await stage.attribute(input, { ...method, ...run, target: own.targets }), s + 1, correlations);
    } finally {
      stage.dispose();
    }
  }
  const mean = correlations.map((c) => c.subarray(1).reduce((a, v) => a + v, 0) / steps);
  return {
    layers: stages.map((count) => ({ randomised: count, last: layers[count - 1].name })),
    correlations,
    mean,
    last: correlations.map((c) => c[c.length - 1]),
    targets: own.targets,
    settings: { metric: 'randomisation', ...own.settings, order: 'top-down cascading', steps, seed, similarity: 'spearman of |map|' },
  };
}

/** Each image's rank correlation of its two maps' absolute values, into stage s. */
function compare(own: Attribution, stage: Attribution, s: number, out: Float64Array[]): void {
  const per = own.attribution.length / out.length;
  out.forEach((c, b) => {
    const abs = (a: Float32Array) => Float64Array.from(a.subarray(b * per, (b + 1) * per), Math.abs);
    c[s] = spearman(abs(own.attribution), abs(stage.attribution));
  });
}

/** The layers randomisation resets, in the graph's order (Quantus's: the modules' order, bottom up). */
export function parameterLayers(graph: Graph): GraphNode[] {
  return graph.nodes.filter((n) => WITH_PARAMETERS.has(n.op));
}

/**
 * A layer re-initialised as PyTorch's reset_parameters: Conv2d and Linear weights and biases from
 * U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (kaiming_uniform_ with a = sqrt(5); fan_in = input channels a group
 * times the kernel's size, or input features); BatchNorm the identity's statistics (scale 1, shift 0,
 * mean 0, variance 1).
 */
export function reset(node: GraphNode, random: Random): GraphNode {
  const uniform = (n: number, bound: number) => Float32Array.from({ length: n }, () => (2 * random.uniform() - 1) * bound);
  if (node.op === 'Conv2d') {
    const fanIn = (node.inChannels / node.groups) * node.kernel[0] * node.kernel[1];
    const bound = 1 / Math.sqrt(fanIn);
    // A BatchNorm folded in goes with the weights it scaled (Linear's too).
    const { scale: _, ...conv } = node;
    return { ...conv, weight: uniform(node.weight.length, bound), bias: node.bias && uniform(node.bias.length, bound) };
  }
  if (node.op === 'Linear') {
    const bound = 1 / Math.sqrt(node.inFeatures);
    const { scale: _, ...linear } = node;
    return { ...linear, weight: uniform(node.weight.length, bound), bias: node.bias && uniform(node.bias.length, bound) };
  }
  if (node.op === 'BatchNorm') {
    const c = node.channels;
    return { ...node, gamma: new Float32Array(c).fill(1), beta: new Float32Array(c), mean: new Float32Array(c), variance: new Float32Array(c).fill(1) };
  }
  return fail('BAD_GRAPH', `randomisation: node "${node.name}" (${node.op}) has no parameters to reset`);
}
