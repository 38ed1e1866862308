import type { BatchNormNode, Conv2dNode, GraphNode, LinearNode } from '../ops/index.js';
import type { Pads } from '../graph/nodes.js';
import type { Random } from './random.js';

export type Activation = 'relu' | 'relu6' | 'hardswish' | 'silu' | 'sigmoid' | 'hardsigmoid';

/**
 * Appends nodes with seeded random parameters: He-normal weights (so activations keep their scale
 * through deep stacks) and random BatchNorm statistics (so folding is tested on non-trivial numbers).
 */
export class GraphBuilder {
  readonly nodes: GraphNode[] = [];
  constructor(
    private readonly rng: Random,
    readonly options: { zeroBias?: boolean } = {},
  ) {}

  private add<T extends GraphNode>(node: T): string {
    this.nodes.push(node);
    return node.name;
  }

  conv(name: string, input: string, cin: number, cout: number, k: number, opts: { stride?: number; pad?: number | Pads; bias?: boolean; groups?: number } = {}): string {
    const p = opts.pad ?? 0;
    const pads: Pads = typeof p === 'number' ? [p, p, p, p] : p;
    const s = opts.stride ?? 1;
    const groups = opts.groups ?? 1;
    const fanIn = (cin / groups) * k * k;
    const node: Conv2dNode = {
      op: 'Conv2d',
      name,
      inputs: [input],
      inChannels: cin,
      outChannels: cout,
      kernel: [k, k],
      stride: [s, s],
      pads,
      dilation: [1, 1],
      groups,
      weight: this.rng.normals(cout * fanIn, Math.sqrt(2 / fanIn)),
      bias: opts.bias ? this.bias(cout) : null,
    };
    return this.add(node);
  }

  linear(name: string, input: string, nin: number, nout: number): string {
    const node: LinearNode = {
      op: 'Linear',
      name,
      inputs: [input],
      inFeatures: nin,
      outFeatures: nout,
      weight: this.rng.normals(nout * nin, Math.sqrt(2 / nin)),
      bias: this.bias(nout),
    };
    return this.add(node);
  }

  batchNorm(name: string, input: string, channels: number, epsilon = 1e-5): string {
    const zero = this.options.zeroBias;
    const node: BatchNormNode = {
      op: 'BatchNorm',
      name,
      inputs: [input],
      channels,
      gamma: this.rng.uniforms(channels, 0.5, 1.5),
      beta: zero ? new Float32Array(channels) : this.rng.normals(channels, 0.1),
      mean: zero ? new Float32Array(channels) : this.rng.normals(channels, 0.1),
      variance: this.rng.uniforms(channels, 0.5, 1.5),
      epsilon,
    };
    return this.add(node);
  }

  relu(name: string, input: string): string {
    return this.add({ op: 'ReLU', name, inputs: [input] });
  }

  /** An activation: 'relu', 'relu6', 'hardswish', 'silu', 'sigmoid', 'hardsigmoid' (PyTorch's). */
  activation(name: string, input: string, kind: Activation): string {
    switch (kind) {
      case 'relu':
        return this.relu(name, input);
      case 'relu6':
        return this.add({ op: 'Clip', name, inputs: [input], min: 0, max: 6 });
      case 'hardswish':
        return this.add({ op: 'HardSwish', name, inputs: [input] });
      case 'silu':
        return this.add({ op: 'SiLU', name, inputs: [input] });
      case 'sigmoid':
        return this.add({ op: 'Sigmoid', name, inputs: [input] });
      case 'hardsigmoid':
        return this.add({ op: 'HardSigmoid', name, inputs: [input], alpha: 1 / 6, beta: 0.5 });
    }
  }

  concat(name: string, inputs: string[]): string {
    return this.add({ op: 'Concat', name, inputs });
  }

  /** x * g, g a per-channel gate. */
  gate(name: string, x: string, g: string): string {
    return this.add({ op: 'Gate', name, inputs: [x, g] });
  }

  maxPool(name: string, input: string, k: number, stride: number, pad = 0): string {
    return this.add({ op: 'MaxPool2d', name, inputs: [input], kernel: [k, k], stride: [stride, stride], pads: [pad, pad, pad, pad] });
  }

  avgPool(name: string, input: string, k: number, stride: number, pad = 0, countIncludePad = true): string {
    return this.add({ op: 'AvgPool2d', name, inputs: [input], kernel: [k, k], stride: [stride, stride], pads: [pad, pad, pad, pad], countIncludePad });
  }

  globalAvgPool(name: string, input: string): string {
    return this.add({ op: 'GlobalAvgPool', name, inputs: [input] });
  }

  sum(name: string, a: string, b: string): string {
    return this.add({ op: 'Add', name, inputs: [a, b] });
  }

  flatten(name: string, input: string): string {
    return this.add({ op: 'Flatten', name, inputs: [input] });
  }

  pad(name: string, input: string, p: number | Pads): string {
    return this.add({ op: 'Pad', name, inputs: [input], pads: typeof p === 'number' ? [p, p, p, p] : p });
  }

  private bias(n: number): Float32Array {
    return this.options.zeroBias ? new Float32Array(n) : this.rng.normals(n, 0.05);
  }
}
