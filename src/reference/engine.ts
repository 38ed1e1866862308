import { fail } from '../errors.js';
import type { Engine, Session, BackwardOptions } from '../engine/types.js';
import type { Graph } from '../model/graph.js';
import type { GraphNode } from '../model/ops.js';
import type { AffineLayer, LinearMap, Transform, Vec } from '../rules/types.js';
import { referenceForward, plane, type Activations } from './forward.js';
import { referenceOps } from './ops.js';
import { conv2d, conv2dTranspose, convGeometry } from './ops/conv2d.js';
import { batchNormGrad, crop, reluGrad } from './ops/elementwise.js';
import { linear, linearTranspose } from './ops/linear.js';
import { avgPoolTranspose, globalAvgPoolTranspose, maxPoolRoute, poolShape } from './ops/pool.js';
import { transformed } from './weights.js';

/** The float64 reference engine: plain loops, the specification the wasm engine is tested against. */
export const referenceEngine: Engine = {
  name: 'reference',
  run(graph: Graph, input: Float32Array, batch: number): Session<Vec> {
    return new ReferenceSession(graph, referenceForward(graph, Float64Array.from(input), batch, graph.logitsName));
  },
  dispose() {},
};

class ReferenceSession implements Session<Vec> {
  readonly ops = referenceOps;
  readonly batch: number;
  private readonly relevance = new Map<string, Vec>();

  constructor(
    readonly graph: Graph,
    private readonly acts: Activations,
  ) {
    this.batch = acts.batch;
  }

  logits(): Float32Array {
    return Float32Array.from(this.acts.values.get(this.graph.logitsName)!);
  }

  start(values: Float64Array): Vec {
    return values;
  }

  accumulate(names: readonly string[], rs: readonly Vec[]): void {
    names.forEach((name, k) => {
      const acc = this.relevance.get(name);
      if (acc) for (let j = 0; j < acc.length; j++) acc[j] += rs[k][j];
      else this.relevance.set(name, Float64Array.from(rs[k]));
    });
  }

  collected(name: string): Vec | undefined {
    return this.relevance.get(name);
  }

  endNode(): void {}

  release(): void {
    this.relevance.clear();
  }

  sumPerSample(v: Vec): number[] {
    const n = v.length / this.batch;
    return Array.from({ length: this.batch }, (_, b) => {
      let s = 0;
      for (let i = b * n; i < (b + 1) * n; i++) s += v[i];
      return s;
    });
  }

  toFloat32(v: Vec): Float32Array {
    return Float32Array.from(v);
  }

  gradient(node: GraphNode, R: Vec): Vec[] {
    const { graph, batch } = this;
    const x = this.acts.values.get(node.inputs[0])!;
    const inShape = graph.shape(node.inputs[0]);
    switch (node.op) {
      case 'Conv2d':
      case 'Linear':
        return [this.affineLayer(node, {}).transpose(R, 'w')];
      case 'BatchNorm':
        return [batchNormGrad(R, node, plane(inShape))];
      case 'ReLU':
        return [reluGrad(R, x)];
      case 'MaxPool2d':
        return [maxPoolRoute(R, this.acts.winners.get(node.name)!, x.length)];
      case 'AvgPool2d':
      case 'GlobalAvgPool':
      case 'Add':
        return this.linearMap(node).transpose(R);
      case 'Pad':
        return [crop(R, batch * inShape[0], inShape[1], inShape[2], node.pads)];
      case 'Flatten':
      case 'Identity':
        return [R];
      case 'Softmax':
        return fail('UNSUPPORTED', `node "${node.name}": explanations start before a Softmax, not through it`);
    }
  }

  affineLayer(node: GraphNode, options: BackwardOptions): AffineLayer<Vec> {
    const { graph, batch } = this;
    if (node.op !== 'Conv2d' && node.op !== 'Linear') return fail('RULE_NOT_APPLICABLE', `node "${node.name}" (${node.op}) has no weights for an affine rule`);
    const x = this.acts.values.get(node.inputs[0])!;
    const inputShape = graph.shape(node.inputs[0]);
    const inputRange = node.inputs[0] === graph.input.name ? options.inputRange : undefined;
    const bias = node.bias;
    const xNonNegative = graph.nonNegative.has(node.inputs[0]);
    const base = { name: node.name, ops: referenceOps, x, xNonNegative, batch, inputShape, inputRange, hasBias: bias !== null };
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

  linearMap(node: GraphNode): LinearMap<Vec> {
    const { graph, batch } = this;
    const inputs = node.inputs.map((src) => this.acts.values.get(src)!);
    const z = this.acts.values.get(node.name)!;
    const inShape = graph.shape(node.inputs[0]);
    const base = { name: node.name, ops: referenceOps, inputs, z };
    switch (node.op) {
      case 'Add':
        return { ...base, transpose: (s) => inputs.map(() => s) };
      case 'AvgPool2d': {
        const ps = poolShape(batch, inShape, graph.shape(node.name));
        return { ...base, transpose: (s) => [avgPoolTranspose(s, ps, node)] };
      }
      case 'GlobalAvgPool': {
        const [c, h, w] = inShape;
        return { ...base, transpose: (s) => [globalAvgPoolTranspose(s, batch, c, h * w)] };
      }
      default:
        return fail('RULE_NOT_APPLICABLE', `norm applies to Add and average pools, not to node "${node.name}" (${node.op})`);
    }
  }
}
