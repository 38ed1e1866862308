import type { Graph } from '../model/graph.js';
import type { GraphNode } from '../model/ops.js';
import { conv2d, convGeometry } from './ops/conv2d.js';
import { batchNorm, pad, relu } from './ops/elementwise.js';
import { linear } from './ops/linear.js';
import { avgPool, globalAvgPool, maxPool, poolShape } from './ops/pool.js';
import { f64 } from './weights.js';

/** Every value of a forward pass (batch-major, float64) and max-pool winners, kept for the backward pass. */
export interface Activations {
  readonly batch: number;
  readonly values: Map<string, Float64Array>;
  readonly winners: Map<string, Int32Array>;
}

/**
 * Runs the graph on a batch in float64. This is the specification the wasm engine is tested against:
 * plain loops, no blocking, no reordering beyond what the formulas say.
 */
export function referenceForward(graph: Graph, input: Float64Array, batch: number, until?: string): Activations {
  const values = new Map<string, Float64Array>([[graph.input.name, input]]);
  const winners = new Map<string, Int32Array>();
  for (const node of graph.nodes) {
    values.set(node.name, evaluate(graph, node, batch, values, winners));
    if (node.name === until) break;
  }
  return { batch, values, winners };
}

function evaluate(graph: Graph, node: GraphNode, batch: number, values: Map<string, Float64Array>, winners: Map<string, Int32Array>): Float64Array {
  const x = values.get(node.inputs[0])!;
  const inShape = graph.shape(node.inputs[0]);
  const outShape = graph.shape(node.name);
  switch (node.op) {
    case 'Conv2d':
      return conv2d(x, convGeometry(node, batch, inShape, outShape), f64(node.weight), f64(node.bias));
    case 'Linear':
      return linear(x, batch, node.inFeatures, node.outFeatures, f64(node.weight), f64(node.bias));
    case 'BatchNorm':
      return batchNorm(x, node, plane(inShape));
    case 'ReLU':
      return relu(x);
    case 'MaxPool2d': {
      const { y, winners: w } = maxPool(x, poolShape(batch, inShape, outShape), node);
      winners.set(node.name, w);
      return y;
    }
    case 'AvgPool2d':
      return avgPool(x, poolShape(batch, inShape, outShape), node);
    case 'GlobalAvgPool':
      return globalAvgPool(x, batch, inShape[0], inShape[1] * inShape[2]);
    case 'Add': {
      const out = Float64Array.from(x);
      for (const src of node.inputs.slice(1)) {
        const other = values.get(src)!;
        for (let i = 0; i < out.length; i++) out[i] += other[i];
      }
      return out;
    }
    case 'Flatten':
    case 'Identity':
      return x;
    case 'Pad':
      return pad(x, batch * inShape[0], inShape[1], inShape[2], node.pads);
    case 'Softmax':
      return softmaxRows(x, batch);
  }
}

/** Elements per channel: H*W for feature maps, 1 for feature vectors. */
export function plane(shape: readonly number[]): number {
  return shape.length === 3 ? shape[1] * shape[2] : 1;
}

export function softmaxRows(x: ArrayLike<number>, batch: number): Float64Array {
  const n = x.length / batch;
  const out = new Float64Array(x.length);
  for (let b = 0; b < batch; b++) {
    let max = -Infinity;
    for (let i = 0; i < n; i++) max = Math.max(max, x[b * n + i]);
    let total = 0;
    for (let i = 0; i < n; i++) total += out[b * n + i] = Math.exp(x[b * n + i] - max);
    for (let i = 0; i < n; i++) out[b * n + i] /= total;
  }
  return out;
}
