import type { Graph } from '../graph/graph.js';
import { isAffine } from '../graph/nodes.js';
import type { Arena } from './arena.js';
import type { Uploaded } from './convolution-run.js';
import { packedWinograd } from './convolutions.js';
import type { KernelExports } from './load.js';

/**
 * Copies a graph's weights into the arena, once per graph: BatchNorm folded in place there (exactly as
 * foldedWeight does, by a kernel: scale_channels), and the Winograd U of the convolutions whose forward
 * keeps one (the plan decides which; the others make it in each pass, through WasmConvolutions).
 */
export function uploadWeights(arena: Arena, k: KernelExports, graph: Graph): Map<string, Uploaded> {
  const map = new Map<string, Uploaded>();
  for (const node of graph.upstream(graph.logitsName)) {
    if (!isAffine(node)) continue;
    const { weight: source, scale } = node;
    const length = source.length;
    const weight = arena.alloc(length * 4, `the weights of "${node.name}"`);
    arena.f32(weight, length).set(source);
    let bias = 0;
    if (node.bias) {
      bias = arena.alloc(node.bias.length * 4, `the bias of "${node.name}"`);
      arena.f32(bias, node.bias.length).set(node.bias);
    }
    if (scale) {
      const mark = arena.mark();
      const factors = arena.alloc(scale.length * 8, `the folded BatchNorm of "${node.name}"`);
      arena.f64(factors, scale.length).set(scale);
      k.scale_channels(weight, factors, scale.length, length / scale.length);
      arena.reset(mark);
    }
    const winograd = packedWinograd(arena, k, graph, node, weight);
    map.set(node.name, { weight, bias, winograd });
  }
  return map;
}
