import type { Graph } from '../graph/graph.js';
import { isAffine } from '../graph/nodes.js';
import type { Arena } from './arena.js';
import { packedWinograd, type Uploaded } from './convolutions.js';
import type { KernelExports } from './load.js';

/**
 * Copies a graph's weights into the arena, once per graph: BatchNorm folded on the way in (exactly as
 * foldedWeight does, without a JavaScript copy), and the Winograd U of the convolutions whose forward
 * keeps one (the kernels decide which; the others make it in each pass, through WasmConvolutions).
 */
export function uploadWeights(arena: Arena, k: KernelExports, graph: Graph): Map<string, Uploaded> {
  const map = new Map<string, Uploaded>();
  for (const node of graph.upstream(graph.logitsName)) {
    if (!isAffine(node)) continue;
    const { weight: source, scale } = node;
    const length = source.length;
    const weight = arena.alloc(length * 4, `the weights of "${node.name}"`);
    const dst = arena.f32(weight, length);
    if (scale) {
      const per = length / scale.length;
      for (let c = 0; c < scale.length; c++) for (let i = c * per; i < (c + 1) * per; i++) dst[i] = scale[c] * source[i];
    } else {
      dst.set(source);
    }
    let bias = 0;
    if (node.bias) {
      bias = arena.alloc(node.bias.length * 4, `the bias of "${node.name}"`);
      arena.f32(bias, node.bias.length).set(node.bias);
    }
    const winograd = packedWinograd(arena, k, graph, node, weight);
    map.set(node.name, { weight, bias, winograd });
  }
  return map;
}
