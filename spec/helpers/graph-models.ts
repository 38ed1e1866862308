/**
 * TF.js graph models written as the TF.js converter writes them: a GraphDef as JSON (attributes in
 * protobuf's JSON mapping, strings in base64, the converter's fused ops) whose Const values sit in a
 * weights manifest and one shard, float32 or quantized as the converter's --quantize_* flags do.
 */
import { Random } from '../../src/architectures/random.js';
import { quantizeTensor } from './quantize.js';

type Attr = Record<string, unknown>;
export interface GraphModelFiles {
  json: { format: 'graph-model'; generatedBy: string; convertedBy: string; modelTopology: { node: unknown[]; versions: { producer: number } }; weightsManifest: { paths: string[]; weights: unknown[] }[] };
  shard: Uint8Array;
}

const b64 = (s: string) => btoa(s);
export const attr = {
  ints: (...v: number[]) => ({ list: { i: v.map(String) } }),
  str: (s: string) => ({ s: b64(s) }),
  strs: (...s: string[]) => ({ list: { s: s.map(b64) } }),
  int: (i: number) => ({ i: String(i) }),
  float: (f: number) => ({ f }),
  bool: (b: boolean) => ({ b }),
  float32: { type: 'DT_FLOAT' },
};
const conv = (strides: number[], padding: string): Attr => ({ T: attr.float32, strides: attr.ints(...strides), padding: attr.str(padding), data_format: attr.str('NHWC'), dilations: attr.ints(1, 1, 1, 1) });

export class GraphDefBuilder {
  private readonly nodes: unknown[] = [];
  private readonly specs: unknown[] = [];
  private readonly chunks: Uint8Array[] = [];
  private readonly random: Random;
  constructor(
    seed: number,
    private readonly quantization?: 'uint8' | 'uint16' | 'float16',
  ) {
    this.random = new Random(seed);
  }
  /** A float32 constant with He-scaled random values (or the given ones), stored as the builder's quantization says. */
  weight(name: string, shape: number[], values?: number[], fanIn = shape.slice(0, -1).reduce((a, b) => a * b, 1)): string {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = Float32Array.from(values ?? Array.from({ length: n }, () => this.random.normal() * Math.sqrt(2 / fanIn)));
    const spec: Record<string, unknown> = { name, shape, dtype: 'float32' };
    if (this.quantization && !values) {
      const { bytes, quantization } = quantizeTensor(data, this.quantization);
      spec.quantization = quantization;
      this.chunks.push(bytes);
    } else this.chunks.push(new Uint8Array(data.buffer));
    this.specs.push(spec);
    this.nodes.push({ name, op: 'Const', attr: { value: { tensor: { dtype: 'DT_FLOAT', tensorShape: { dim: shape.map((d) => ({ size: String(d) })) } } }, dtype: attr.float32 } });
    return name;
  }
  ints(name: string, shape: number[], values: number[]): string {
    this.specs.push({ name, shape, dtype: 'int32' });
    this.chunks.push(new Uint8Array(Int32Array.from(values).buffer));
    this.nodes.push({ name, op: 'Const', attr: { value: { tensor: { dtype: 'DT_INT32', tensorShape: { dim: shape.map((d) => ({ size: String(d) })) } } }, dtype: { type: 'DT_INT32' } } });
    return name;
  }
  node(name: string, op: string, input: string[], a: Attr = {}): string {
    this.nodes.push({ name, op, input, attr: a, device: '/device:CPU:0' });
    return name;
  }
  placeholder(name: string, h: number, w: number, c: number): string {
    return this.node(name, 'Placeholder', [], { dtype: attr.float32, shape: { shape: { dim: [-1, h, w, c].map((d) => ({ size: String(d) })) } } });
  }
  /** _FusedConv2D / FusedDepthwiseConv2dNative with BiasAdd (and an activation), as the converter fuses them. */
  fusedConv(name: string, x: string, filter: number[], strides: number, padding: string, act?: string, depthwise = false): string {
    const w = this.weight(`${name}/weights`, filter, undefined, filter[0] * filter[1] * (depthwise ? 1 : filter[2]));
    const out = depthwise ? filter[2] * filter[3] : filter[3];
    const b = this.weight(`${name}/bias`, [out], Array.from({ length: out }, () => 0.05 * this.random.normal()));
    const ops = act ? ['BiasAdd', act] : ['BiasAdd'];
    return this.node(name, depthwise ? 'FusedDepthwiseConv2dNative' : '_FusedConv2D', [x, w, b], { ...conv([1, strides, strides, 1], padding), num_args: attr.int(1), fused_ops: attr.strs(...ops), epsilon: attr.float(0), ...(act === 'LeakyRelu' ? { leakyrelu_alpha: attr.float(0.1) } : {}) });
  }
  conv(name: string, x: string, filter: number[], strides: number, padding: string, depthwise = false): string {
    const w = this.weight(`${name}/weights`, filter, undefined, filter[0] * filter[1] * (depthwise ? 1 : filter[2]));
    return this.node(name, depthwise ? 'DepthwiseConv2dNative' : 'Conv2D', [x, w], conv([1, strides, strides, 1], padding));
  }
  /** FusedBatchNormV3's four per-channel constants. */
  bnParams(name: string, ch: number): string[] {
    const r = () => Array.from({ length: ch }, () => this.random.uniform());
    return [
      this.weight(`${name}/gamma`, [ch], r().map((v) => 0.5 + v)),
      this.weight(`${name}/beta`, [ch], r().map((v) => 0.2 * (v - 0.5))),
      this.weight(`${name}/mean`, [ch], r().map((v) => 0.2 * (v - 0.5))),
      this.weight(`${name}/variance`, [ch], r().map((v) => 0.5 + v)),
    ];
  }
  files(): GraphModelFiles {
    const total = this.chunks.reduce((s, c) => s + c.byteLength, 0);
    const shard = new Uint8Array(total);
    let at = 0;
    for (const c of this.chunks) {
      shard.set(c, at);
      at += c.byteLength;
    }
    return {
      json: { format: 'graph-model', generatedBy: '2.15.0', convertedBy: 'TensorFlow.js Converter v4.22.0', modelTopology: { node: this.nodes, versions: { producer: 1645 } }, weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: this.specs }] },
      shard,
    };
  }
}


/**
 * A MobileNet-like classifier on 32x32x3: the input scaled to [-1, 1] in the graph (Mul, Sub), an
 * explicit Pad, fused convs with Relu6, a depthwise conv, Conv2D + FusedBatchNormV3 + Relu, a residual
 * AddV2, a depthwise conv with multiplier 2 + BiasAdd + LeakyRelu, ConcatV2 with a SAME MaxPool, an
 * AvgPool, a 1x1 fused conv with Relu, Mean keeping dims + Squeeze, _FusedMatMul with
 * Relu, MatMul + BiasAdd (the logits), Softmax, Identity.
 */
export function mobileNetLike(seed: number, quantization?: 'uint8' | 'uint16' | 'float16'): GraphModelFiles & { logits: string } {
  const g = new GraphDefBuilder(seed, quantization);
  let x = g.placeholder('input_1', 32, 32, 3);
  x = g.node('scale/mul', 'Mul', [x, g.weight('scale/mul/y', [], [1 / 127.5])], { T: attr.float32 });
  x = g.node('scale/sub', 'Sub', [x, g.weight('scale/sub/y', [], [1])], { T: attr.float32 });
  x = g.node('pad', 'Pad', [x, g.ints('pad/paddings', [4, 2], [0, 0, 0, 1, 0, 1, 0, 0])], { T: attr.float32 });
  x = g.fusedConv('stem', x, [3, 3, 3, 8], 2, 'VALID', 'Relu6');
  x = g.fusedConv('dw1', x, [3, 3, 8, 1], 1, 'SAME', 'Relu6', true);
  x = g.conv('pw1', x, [1, 1, 8, 16], 1, 'SAME');
  x = g.node('pw1/bn', 'FusedBatchNormV3', [x, ...g.bnParams('pw1/bn', 16)], { T: attr.float32, epsilon: attr.float(0.001), is_training: attr.bool(false), data_format: attr.str('NHWC') });
  const a = g.node('pw1/relu', 'Relu', [x], { T: attr.float32 });
  const r = g.fusedConv('res', a, [3, 3, 16, 16], 1, 'SAME');
  x = g.node('res/add', 'AddV2', [a, r], { T: attr.float32 });
  let d = g.conv('dw2', x, [3, 3, 16, 2], 2, 'SAME', true);
  d = g.node('dw2/bias', 'BiasAdd', [d, g.weight('dw2/bias/b', [32], Array.from({ length: 32 }, (_, i) => 0.01 * (i - 16)))], { T: attr.float32, data_format: attr.str('NHWC') });
  d = g.node('dw2/leaky', 'LeakyRelu', [d], { T: attr.float32, alpha: attr.float(0.2) });
  const m = g.node('pool', 'MaxPool', [x], { T: attr.float32, ksize: attr.ints(1, 3, 3, 1), strides: attr.ints(1, 2, 2, 1), padding: attr.str('SAME'), data_format: attr.str('NHWC') });
  x = g.node('concat', 'ConcatV2', [d, m, g.ints('concat/axis', [], [3])], { T: attr.float32, N: attr.int(2), Tidx: { type: 'DT_INT32' } });
  x = g.node('avg', 'AvgPool', [x], { T: attr.float32, ksize: attr.ints(1, 3, 3, 1), strides: attr.ints(1, 2, 2, 1), padding: attr.str('SAME'), data_format: attr.str('NHWC') });
  x = g.fusedConv('head', x, [1, 1, 48, 24], 1, 'VALID', 'Relu');
  x = g.node('gap', 'Mean', [x, g.ints('gap/axes', [2], [1, 2])], { T: attr.float32, keep_dims: attr.bool(true), Tidx: { type: 'DT_INT32' } });
  x = g.node('squeeze', 'Squeeze', [x], { T: attr.float32, squeeze_dims: attr.ints(1, 2) });
  const fc1w = g.weight('fc1/weights', [24, 16]);
  const fc1b = g.weight('fc1/bias', [16], Array.from({ length: 16 }, (_, i) => 0.02 * (i - 8)));
  x = g.node('fc1', '_FusedMatMul', [x, fc1w, fc1b], { T: attr.float32, transpose_a: attr.bool(false), transpose_b: attr.bool(false), num_args: attr.int(1), fused_ops: attr.strs('BiasAdd', 'Relu'), epsilon: attr.float(0) });
  x = g.node('logits/matmul', 'MatMul', [x, g.weight('logits/weights', [16, 10])], { T: attr.float32, transpose_a: attr.bool(false), transpose_b: attr.bool(false) });
  const logits = g.node('logits', 'BiasAdd', [x, g.weight('logits/bias', [10], Array.from({ length: 10 }, (_, i) => 0.03 * (i - 5)))], { T: attr.float32, data_format: attr.str('NHWC') });
  g.node('Identity', 'Identity', [g.node('softmax', 'Softmax', [logits], { T: attr.float32 })], { T: attr.float32 });
  return { ...g.files(), logits };
}

/** A VGG-like classifier on 16x16x3 whose dense layer reads a flattened 4x4x8 map (Reshape), transpose_b. */
export function vggLike(seed: number, quantization?: 'uint8' | 'uint16' | 'float16'): GraphModelFiles & { logits: string } {
  const g = new GraphDefBuilder(seed, quantization);
  let x = g.placeholder('images', 16, 16, 3);
  x = g.fusedConv('conv1', x, [3, 3, 3, 8], 1, 'SAME', 'Relu');
  x = g.node('pool1', 'MaxPool', [x], { T: attr.float32, ksize: attr.ints(1, 2, 2, 1), strides: attr.ints(1, 2, 2, 1), padding: attr.str('VALID'), data_format: attr.str('NHWC') });
  x = g.conv('conv2', x, [3, 3, 8, 8], 2, 'SAME');
  x = g.node('conv2/bias', 'BiasAdd', [x, g.weight('conv2/b', [8], Array.from({ length: 8 }, (_, i) => 0.02 * i))], { T: attr.float32, data_format: attr.str('NHWC') });
  x = g.node('conv2/relu6', 'Relu6', [x], { T: attr.float32 });
  x = g.node('flatten', 'Reshape', [x, g.ints('flatten/shape', [2], [-1, 128])], { T: attr.float32, Tshape: { type: 'DT_INT32' } });
  const logits = g.node('dense', '_FusedMatMul', [x, g.weight('dense/weights', [10, 128], undefined, 128), g.weight('dense/bias', [10], Array.from({ length: 10 }, (_, i) => 0.01 * i))], { T: attr.float32, transpose_a: attr.bool(false), transpose_b: attr.bool(true), num_args: attr.int(1), fused_ops: attr.strs('BiasAdd'), epsilon: attr.float(0) });
  return { ...g.files(), logits };
}

/**
 * A face-attribute-like classifier on 16x16x1 (issue 27: the ops of the face, age and liveness models
 * users brought): a 1-channel input scaled in the graph, ReLU6 written as Maximum(x, 0) then Minimum(x, 6)
 * (Keras's clip_by_value), a Tanh, a squeeze-and-excitation gate (Mean, 1x1 conv, Sigmoid, Mul of two
 * maps), a global max pool (Max over H and W), MatMul + BiasAdd, a BatchNorm after the dense layer as
 * Keras's converter writes it (Mul and AddV2 by per-feature constants), and the logits.
 */
export function faceAttributeLike(seed: number, quantization?: 'uint8' | 'uint16' | 'float16'): GraphModelFiles & { logits: string } {
  const g = new GraphDefBuilder(seed, quantization);
  const f32 = { T: attr.float32 };
  const scalar = (name: string, v: number) => g.weight(name, [], [v]);
  let x = g.placeholder('gray', 16, 16, 1);
  x = g.node('scale/mul', 'Mul', [x, scalar('scale/mul/y', 1 / 127.5)], f32);
  x = g.node('scale/sub', 'Sub', [x, scalar('scale/sub/y', 1)], f32);
  x = g.fusedConv('conv1', x, [3, 3, 1, 8], 1, 'SAME');
  x = g.node('conv1/clip/Maximum', 'Maximum', [x, scalar('conv1/clip/zero', 0)], f32);
  x = g.node('conv1/clip/Minimum', 'Minimum', [x, scalar('conv1/clip/six', 6)], f32);
  x = g.fusedConv('conv2', x, [3, 3, 8, 8], 2, 'SAME');
  x = g.node('conv2/tanh', 'Tanh', [x], f32);
  const squeezed = g.node('se/mean', 'Mean', [x, g.ints('se/axes', [2], [1, 2])], { ...f32, keep_dims: attr.bool(true), Tidx: { type: 'DT_INT32' } });
  const excited = g.node('se/sigmoid', 'Sigmoid', [g.fusedConv('se/conv', squeezed, [1, 1, 8, 8], 1, 'VALID')], f32);
  x = g.node('se/mul', 'Mul', [x, excited], f32);
  x = g.node('gmp', 'Max', [x, g.ints('gmp/axes', [2], [1, 2])], { ...f32, keep_dims: attr.bool(false), Tidx: { type: 'DT_INT32' } });
  x = g.node('fc1/matmul', 'MatMul', [x, g.weight('fc1/weights', [8, 12])], { ...f32, transpose_a: attr.bool(false), transpose_b: attr.bool(false) });
  x = g.node('fc1', 'BiasAdd', [x, g.weight('fc1/bias', [12], Array.from({ length: 12 }, (_, i) => 0.02 * (i - 6)))], { ...f32, data_format: attr.str('NHWC') });
  x = g.node('bn/mul', 'Mul', [x, g.weight('bn/scale', [12], Array.from({ length: 12 }, (_, i) => 0.6 + 0.05 * i))], f32);
  x = g.node('bn/add', 'AddV2', [x, g.weight('bn/shift', [12], Array.from({ length: 12 }, (_, i) => 0.03 * (i - 6)))], f32);
  x = g.node('fc1/relu', 'Relu', [x], f32);
  const logits = g.node('logits', '_FusedMatMul', [x, g.weight('logits/weights', [12, 4]), g.weight('logits/bias', [4], [0.1, -0.1, 0.05, 0])], { ...f32, transpose_a: attr.bool(false), transpose_b: attr.bool(false), num_args: attr.int(1), fused_ops: attr.strs('BiasAdd'), epsilon: attr.float(0) });
  return { ...g.files(), logits };
}
