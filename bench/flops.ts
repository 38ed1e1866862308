import type { Graph } from '../src/graph/graph.js';

/** Multiply-accumulates of one forward pass per image (Conv2d and Linear only). */
export function macs(graph: Graph): number {
  let n = 0;
  for (const node of graph.nodes) {
    if (node.op === 'Conv2d') {
      const [, ho, wo] = graph.shape(node.name);
      n += node.outChannels * ho * wo * (node.inChannels / node.groups) * node.kernel[0] * node.kernel[1];
    } else if (node.op === 'Linear') {
      n += node.inFeatures * node.outFeatures;
    }
  }
  return n;
}

/** Bytes of weights (Conv/Linear weights and biases, BatchNorm parameters). */
export function weightBytes(graph: Graph): number {
  let n = 0;
  for (const node of graph.nodes) {
    if (node.op === 'Conv2d' || node.op === 'Linear') n += node.weight.length + (node.bias?.length ?? 0);
    if (node.op === 'BatchNorm') n += 4 * node.channels;
  }
  return 4 * n;
}

/** Bytes of every node's output for one image: what an explanation stores from the forward pass. */
export function activationBytes(graph: Graph): number {
  return 4 * graph.nodes.reduce((s, node) => s + graph.shape(node.name).reduce((a, b) => a * b, 1), 0);
}
