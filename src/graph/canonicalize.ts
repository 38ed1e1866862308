import { Graph } from './graph.js';
import type { BatchNormNode, Conv2dNode } from '../ops/index.js';
import type { AffineNode, GraphNode } from './nodes.js';

export interface CanonicalizeOptions {
  /** Fold BatchNorm into the Conv/Linear before it (Zennit's canonizer). Default true. */
  foldBatchNorm?: boolean;
}

/**
 * Rewrites a graph into the form LRP rules are defined on, without changing what it computes:
 * - Identity-like nodes (Identity, Dropout from imports) disappear;
 * - a zero Pad read only by a Conv moves into the Conv's own padding, so rules treat padded positions as
 *   the convolution's padding (they get no relevance), whichever framework layout the model came from;
 * - BatchNorm after a Conv/Linear that nothing else reads is folded into it:
 *     s = gamma / sqrt(var + eps),  W' = s * W,  b' = (b - mean) * s + beta.
 */
export function canonicalize(graph: Graph, options: CanonicalizeOptions = {}): Graph {
  const foldBN = options.foldBatchNorm ?? true;
  const rename = new Map<string, string>();
  const resolve = (name: string): string => {
    let n = name;
    while (rename.has(n)) n = rename.get(n)!;
    return n;
  };
  const readers = (name: string) => graph.consumers.get(name) ?? [];
  const out = new Map<string, GraphNode>();

  for (const original of graph.nodes) {
    const node = { ...original, inputs: original.inputs.map(resolve) } as GraphNode;
    if (node.op === 'Identity') {
      rename.set(node.name, node.inputs[0]);
      continue;
    }
    if (node.op === 'Conv2d') {
      const src = out.get(node.inputs[0]);
      if (src && src.op === 'Pad' && readers(src.name).length === 1) {
        out.delete(src.name);
        const p = src.pads;
        const q = node.pads;
        out.set(node.name, { ...node, inputs: src.inputs, pads: [p[0] + q[0], p[1] + q[1], p[2] + q[2], p[3] + q[3]] } as Conv2dNode);
        continue;
      }
    }
    if (node.op === 'BatchNorm' && foldBN) {
      const src = out.get(node.inputs[0]);
      // Only over the layer's own output channels: a Linear on each token of a [T, F] value has its
      // features last, where a BatchNorm's channels are the first axis (a scale of a transformer's q).
      const channels = src?.op === 'Conv2d' ? src.outChannels : src?.op === 'Linear' && graph.shape(src.name).length === 1 ? src.outFeatures : -1;
      if (src && (src.op === 'Conv2d' || src.op === 'Linear') && channels === node.channels && readers(src.name).length === 1) {
        out.set(src.name, foldBatchNorm(src, node));
        rename.set(node.name, src.name);
        continue;
      }
    }
    out.set(node.name, node);
  }
  return new Graph(graph.input, [...out.values()], resolve(graph.output));
}

/**
 * The layer with a BatchNorm after it folded in. The scale is kept beside the original weights rather
 * than multiplied in, so a model's weights are not held twice in JavaScript: the wasm engine folds while
 * uploading, the reference engine and the ONNX writer through foldedWeight.
 */
function foldBatchNorm(layer: AffineNode, bn: BatchNormNode): AffineNode {
  const channels = layer.op === 'Conv2d' ? layer.outChannels : layer.outFeatures;
  const scale = new Float64Array(channels);
  const bias = new Float32Array(channels);
  for (let c = 0; c < channels; c++) {
    // In float64, so folding adds no rounding beyond the final float32 store.
    const s = bn.gamma[c] / Math.sqrt(bn.variance[c] + bn.epsilon);
    scale[c] = (layer.scale?.[c] ?? 1) * s;
    bias[c] = ((layer.bias ? layer.bias[c] : 0) - bn.mean[c]) * s + bn.beta[c];
  }
  return { ...layer, scale, bias };
}

/** A layer's weights with any folded BatchNorm scale applied (float32, as a folded model stores them). */
export function foldedWeight(node: AffineNode): Float32Array {
  const { weight, scale } = node;
  if (!scale) return weight;
  const perChannel = weight.length / scale.length;
  const out = new Float32Array(weight.length);
  for (let c = 0; c < scale.length; c++) {
    for (let i = c * perChannel; i < (c + 1) * perChannel; i++) out[i] = scale[c] * weight[i];
  }
  return out;
}
