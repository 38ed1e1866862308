import { upstreamOf } from '../composites.js';
import { fail } from '../errors.js';
import type { Graph } from '../model/graph.js';
import type { GraphNode } from '../model/ops.js';
import type { AffineLayer, BoundSpec, LinearMap, Rule, Transform, Vec } from '../rules/types.js';
import type { Activations } from './forward.js';
import { plane } from './forward.js';
import { conv2d, conv2dTranspose, convGeometry } from './ops/conv2d.js';
import { batchNormGrad, crop, reluGrad } from './ops/elementwise.js';
import { linear, linearTranspose } from './ops/linear.js';
import { avgPoolTranspose, globalAvgPoolTranspose, maxPoolRoute, poolShape } from './ops/pool.js';
import { referenceOps } from './ops.js';
import { f64, transformed } from './weights.js';

/** Total relevance at a node's output and what it passed on to its inputs, per sample. */
export interface LayerRelevance {
  name: string;
  op: string;
  rule: string;
  /** Sum of the relevance that reached the node's output, one number per sample. */
  relevanceOut: number[];
  /** Sum of the relevance the node passed to its inputs, one number per sample; the difference was absorbed. */
  relevanceIn: number[];
}

export interface BackwardOptions {
  /** The model's known input range, given to rules (z-box) on layers that read the graph input. */
  inputRange?: { low: BoundSpec; high: BoundSpec };
  report?: boolean;
}

/**
 * Carries relevance from the logits node back to the graph input, node by node in reverse topological
 * order, applying each node's rule. Values read by several nodes collect the relevance of all of them.
 */
export function referenceBackward(
  graph: Graph,
  acts: Activations,
  rules: Map<string, Rule>,
  start: Float64Array,
  options: BackwardOptions = {},
): { relevance: Float64Array; layers?: LayerRelevance[] } {
  const { batch } = acts;
  const pending = new Map<string, Float64Array>([[graph.logitsName, start]]);
  const layers: LayerRelevance[] = [];
  const nodes = upstreamOf(graph, graph.logitsName);
  for (let i = nodes.length - 1; i >= 0; i--) {
    const node = nodes[i];
    const R = pending.get(node.name);
    pending.delete(node.name);
    if (!R) continue; // nothing reached it (e.g. only feeds a branch that got no relevance)
    const rule = rules.get(node.name);
    if (!rule) fail('BAD_GRAPH', `no rule assigned to node "${node.name}" (${node.op})`);
    const rIn = propagate(graph, node, rule, R, acts, options);
    node.inputs.forEach((src, k) => {
      const acc = pending.get(src);
      if (acc) for (let j = 0; j < acc.length; j++) acc[j] += rIn[k][j];
      else pending.set(src, Float64Array.from(rIn[k]));
    });
    if (options.report) {
      layers.push({ name: node.name, op: node.op, rule: rule.label, relevanceOut: perSample(R, batch), relevanceIn: perSample(sumAll(rIn), batch) });
    }
  }
  const relevance = pending.get(graph.input.name) ?? new Float64Array(acts.values.get(graph.input.name)!.length);
  return { relevance, layers: options.report ? layers.reverse() : undefined };
}

function propagate(graph: Graph, node: GraphNode, rule: Rule, R: Vec, acts: Activations, options: BackwardOptions): Vec[] {
  switch (rule.kind) {
    case 'pass':
      return node.inputs.map(() => R);
    case 'gradient':
      return gradient(graph, node, R, acts);
    case 'affine':
      return [rule.relevance(affineLayer(graph, node, acts, options), R)];
    case 'norm':
      return rule.relevance(linearMap(graph, node, acts), R);
  }
}

/** The node's plain backward pass: d out / d in, transposed, applied to R. */
export function gradient(graph: Graph, node: GraphNode, R: Vec, acts: Activations): Vec[] {
  const { batch, values } = acts;
  const x = values.get(node.inputs[0])!;
  const inShape = graph.shape(node.inputs[0]);
  switch (node.op) {
    case 'Conv2d':
    case 'Linear':
      return [affineLayer(graph, node, acts, {}).transpose(R, 'w')];
    case 'BatchNorm':
      return [batchNormGrad(R, node, plane(inShape))];
    case 'ReLU':
      return [reluGrad(R, x)];
    case 'MaxPool2d':
      return [maxPoolRoute(R, acts.winners.get(node.name)!, x.length)];
    case 'AvgPool2d':
    case 'GlobalAvgPool':
    case 'Add':
      return linearMap(graph, node, acts).transpose(R);
    case 'Pad':
      return [crop(R, batch * inShape[0], inShape[1], inShape[2], node.pads)];
    case 'Flatten':
    case 'Identity':
      return [R];
    case 'Softmax':
      return fail('UNSUPPORTED', `node "${node.name}": explanations start before a Softmax, not through it`);
  }
}

function affineLayer(graph: Graph, node: GraphNode, acts: Activations, options: BackwardOptions): AffineLayer<Vec> {
  const { batch } = acts;
  const x = acts.values.get(node.inputs[0])!;
  const inputShape = graph.shape(node.inputs[0]);
  const inputRange = node.inputs[0] === graph.input.name ? options.inputRange : undefined;
  if (node.op !== 'Conv2d' && node.op !== 'Linear') return fail('RULE_NOT_APPLICABLE', `node "${node.name}" (${node.op}) has no weights for an affine rule`);
  const bias = node.bias;
  const base = { name: node.name, ops: referenceOps, x, batch, inputShape, inputRange, hasBias: bias !== null };
  const b = (t: Transform | null) => (t === null || bias === null ? null : transformed(bias, t));
  if (node.op === 'Conv2d') {
    const g = convGeometry(node, batch, inputShape, graph.shape(node.name));
    return { ...base, apply: (xm, w, bt) => conv2d(xm, g, transformed(node.weight, w), b(bt)), transpose: (s, w) => conv2dTranspose(s, g, transformed(node.weight, w)) };
  }
  const { inFeatures: nin, outFeatures: nout } = node;
  return {
    ...base,
    apply: (xm, w, bt) => linear(xm, batch, nin, nout, transformed(node.weight, w), b(bt)),
    transpose: (s, w) => linearTranspose(s, batch, nin, nout, transformed(node.weight, w)),
  };
}

function linearMap(graph: Graph, node: GraphNode, acts: Activations): LinearMap<Vec> {
  const { batch, values } = acts;
  const inputs = node.inputs.map((src) => values.get(src)!);
  const z = values.get(node.name)!;
  const inShape = graph.shape(node.inputs[0]);
  switch (node.op) {
    case 'Add':
      return { name: node.name, ops: referenceOps, inputs, z, transpose: (s) => inputs.map(() => s) };
    case 'AvgPool2d': {
      const ps = poolShape(batch, inShape, graph.shape(node.name));
      return { name: node.name, ops: referenceOps, inputs, z, transpose: (s) => [avgPoolTranspose(s, ps, node)] };
    }
    case 'GlobalAvgPool': {
      const [c, h, w] = inShape;
      return { name: node.name, ops: referenceOps, inputs, z, transpose: (s) => [globalAvgPoolTranspose(s, batch, c, h * w)] };
    }
    default:
      return fail('RULE_NOT_APPLICABLE', `norm applies to Add and average pools, not to node "${node.name}" (${node.op})`);
  }
}

function sumAll(vs: Vec[]): Vec {
  if (vs.length === 1) return vs[0];
  const out = Float64Array.from(vs[0]);
  for (const v of vs.slice(1)) for (let i = 0; i < out.length; i++) out[i] += v[i];
  return out;
}

function perSample(v: Vec, batch: number): number[] {
  const n = v.length / batch;
  const sums: number[] = [];
  for (let b = 0; b < batch; b++) {
    let s = 0;
    for (let i = b * n; i < (b + 1) * n; i++) s += v[i];
    sums.push(s);
  }
  return sums;
}
