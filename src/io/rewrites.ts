/**
 * The graph rewrites the importers share: patterns of a format's primitive operators that are one op of
 * relprop's (so that an op's rule applies to it), each a function over the Emitter that emits the op
 * and returns its name, or says it does not apply. `readOnce(name)` tells whether the source graph reads
 * a value only once (a layer whose output something else reads cannot take in what follows it).
 */
import { fail } from '../errors.js';
import type { GraphNode } from '../graph/nodes.js';
import type { Emitter } from './emitter.js';

export type ReadOnce = (name: string) => boolean;

/**
 * a * b: x * sigmoid(x) is SiLU (how PyTorch exports it before opset 14, Keras's swish after
 * conversion), x * HardSigmoid(x; 1/6, 1/2) HardSwish, and x * g with g a Sigmoid or HardSigmoid of one
 * value per channel ([C, 1, 1] against x's [C, H, W]) a squeeze-and-excitation gate. Anything else is
 * no op relprop has a rule for: null.
 */
export function product(e: Emitter, name: string, a: string, b: string): string | null {
  // Through Identity nodes (a Keras Activation('linear') or Dropout between them).
  const source = (v: string): GraphNode | undefined => {
    const n = e.byName.get(v);
    return n?.op === 'Identity' ? source(n.inputs[0]) : n;
  };
  for (const [x, g] of [[a, b], [b, a]]) {
    const gate = source(g);
    if (!gate || (gate.op !== 'Sigmoid' && gate.op !== 'HardSigmoid')) continue;
    if (gate.inputs[0] === x) {
      if (gate.op === 'Sigmoid') return e.add({ op: 'SiLU', name, inputs: [x] });
      if (Math.abs(gate.alpha - 1 / 6) < 1e-6 && gate.beta === 0.5) return e.add({ op: 'HardSwish', name, inputs: [x] });
    }
    const [xs, gs] = [e.shape(x), e.shape(g)];
    if (xs.length === 3 && gs.length === 3 && gs[0] === xs[0] && gs[1] === 1 && gs[2] === 1) return e.add({ op: 'Gate', name, inputs: [x, g] });
  }
  return null;
}

export type ConstantOp = 'add' | 'sub' | 'mul' | 'div';

/**
 * x (op) c for a constant c of one value or one per channel (a map's [C, ...] or a flat value's
 * features): a bias of the Conv or Linear right before it when nothing else reads that layer (how
 * exporters write a Dense layer as MatMul + Add, and TF's BiasAdd), otherwise a per-channel affine map,
 * a BatchNorm node with unit variance and epsilon 0: standalone, the composites give it the rule of a
 * BatchNorm; after a Conv or Linear (a BatchNorm after a dense layer, written out as Mul and Add) it
 * folds into that layer as any BatchNorm does.
 */
export function constantAffine(e: Emitter, name: string, x: string, op: ConstantOp, c: Float32Array, readOnce: ReadOnce, where: string): string {
  const s = e.shape(x);
  const channels = s[0];
  if (c.length !== 1 && c.length !== channels) fail('UNSUPPORTED', `${where}: a constant of ${c.length} values on a [${s}] value; relprop reads scalars and per-channel constants`);
  const vec = Float32Array.from({ length: channels }, (_, i) => c[c.length === 1 ? 0 : i]);
  const additive = op === 'add' || op === 'sub';
  const shift = op === 'sub' ? vec.map((v) => -v) : vec;
  const producer = e.byName.get(x);
  // A bias of the layer's own output channels only (a Linear on each token has its features last).
  const ownChannels = producer?.op === 'Conv2d' || (producer?.op === 'Linear' && s.length === 1);
  if (additive && producer && ownChannels && (producer.op === 'Conv2d' || producer.op === 'Linear') && !producer.bias && readOnce(producer.name)) {
    producer.bias = shift;
    return x;
  }
  const scale = op === 'mul' ? vec : op === 'div' ? vec.map((v) => 1 / v) : new Float32Array(channels).fill(1);
  return e.add({ op: 'BatchNorm', name, inputs: [x], channels, gamma: scale, beta: additive ? shift : new Float32Array(channels), mean: new Float32Array(channels), variance: new Float32Array(channels).fill(1), epsilon: 0 });
}

/**
 * min(max(x, min), max), as ONNX's Clip, TF's Minimum and Maximum with a constant, ReLU6 written as two
 * of them: one clip with the bounds of both where x is itself a clip (or a ReLU) that nothing else
 * reads; a ReLU for [0, inf), nothing for (-inf, inf).
 */
export function clip(e: Emitter, name: string, x: string, min: number, max: number, readOnce: ReadOnce): string {
  const inner = e.byName.get(x);
  if (inner && (inner.op === 'Clip' || inner.op === 'ReLU') && readOnce(inner.name)) {
    const [lo, hi] = inner.op === 'ReLU' ? [0, Infinity] : [inner.min, inner.max];
    return clip(e, name, inner.inputs[0], Math.min(Math.max(lo, min), max), Math.min(Math.max(hi, min), max), () => false);
  }
  if (min === -Infinity && max === Infinity) return x;
  if (min === 0 && max === Infinity) return e.add({ op: 'ReLU', name, inputs: [x] });
  return e.add({ op: 'Clip', name, inputs: [x], min, max });
}

/** A reduction over the whole map (H and W): average or max pooling of one window, flat unless `keepDims`. */
export function globalPool(e: Emitter, name: string, x: string, kind: 'mean' | 'max', keepDims: boolean, where: string): string {
  const s = e.shape(x);
  if (s.length !== 3) fail('UNSUPPORTED', `${where}: a spatial ${kind} of a [${s}] value; relprop reduces feature maps [C, H, W] over H and W`);
  const pooled = keepDims ? name : `${name}.pool`;
  const node: GraphNode =
    kind === 'mean'
      ? { op: 'GlobalAvgPool', name: pooled, inputs: [x] }
      : { op: 'MaxPool2d', name: pooled, inputs: [x], kernel: [s[1], s[2]], stride: [1, 1], pads: [0, 0, 0, 0] };
  e.add(node);
  return keepDims ? pooled : e.add({ op: 'Flatten', name, inputs: [pooled] });
}
