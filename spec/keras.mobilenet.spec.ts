/**
 * MobileNet-style Keras / TF.js layers models (issue 14), built here with @tensorflow/tfjs: MobileNet
 * v1's depthwise-separable stack (ZeroPadding2D, DepthwiseConv2D with a depth multiplier, ReLU(6),
 * pointwise Conv2D, pooled Reshape, a 1x1 conv classifier), MobileNetV2's inverted residuals, and a model
 * with the remaining layers (SeparableConv2D, LeakyReLU, Concatenate, a squeeze-and-excitation Multiply,
 * relu6, hard_sigmoid and swish activations). Each with float32 weights and with its weights quantized
 * (uint8, uint16, float16 in the weight manifest, as tensorflowjs_converter writes them), read by tfjs
 * and by relprop from the same bytes.
 *
 * Tolerances: outputs 1e-5 of scale against tfjs (float32 on both sides). LRP-0 from the logit against
 * tfjs's own gradient x input (tf.grad) 1e-4 of scale on the piecewise-linear ones, whose ReLU6 inputs
 * are checked to stay below 6 (beyond, the gradient is 0 and relevance still passes).
 */
import { tf } from './helpers/tfjs.js';
import { describe, expect, it } from 'vitest';
import { importKeras, Model, parseModelJson, readWeights } from '../src/index.js';
import { Random } from '../src/architectures/random.js';
import { referenceForward } from '../src/reference/forward.js';
import { expectClose } from './helpers/compare.js';
import { quantizeTensor } from './helpers/quantize.js';

type Sym = tf.SymbolicTensor;
type Quantization = 'uint8' | 'uint16' | 'float16' | null;

interface Artifacts {
  topology: object;
  specs: tf.io.WeightsManifestEntry[];
  data: ArrayBuffer;
}

async function artifacts(model: tf.LayersModel): Promise<Artifacts> {
  let out: Artifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      out = { topology: a.modelTopology as object, specs: a.weightSpecs!, data: a.weightData as ArrayBuffer };
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return out!;
}

/** The weights quantized per tensor as tensorflowjs_converter does: affine uint8/uint16 over [min, max], or float16. */
function quantize(a: Artifacts, dtype: Quantization): Artifacts {
  if (!dtype) return a;
  const src = new Float32Array(a.data);
  const parts: Uint8Array[] = [];
  let offset = 0;
  const specs = a.specs.map((spec) => {
    const n = spec.shape.reduce((x, y) => x * y, 1);
    const values = src.subarray(offset, offset + n);
    offset += n;
    const { bytes, quantization } = quantizeTensor(values, dtype);
    parts.push(bytes);
    return { ...spec, quantization };
  });
  const data = new Uint8Array(parts.reduce((s, p) => s + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    data.set(p, at);
    at += p.byteLength;
  }
  return { topology: a.topology, specs: specs as tf.io.WeightsManifestEntry[], data: data.buffer };
}

async function both(a: Artifacts): Promise<{ ours: Model; theirs: tf.LayersModel }> {
  const json = parseModelJson(JSON.stringify({ format: 'layers-model', modelTopology: a.topology, weightsManifest: [{ paths: ['w.bin'], weights: a.specs }] }));
  const weights = await readWeights(json.weightsManifest, () => new Uint8Array(a.data));
  const ours = new Model(importKeras(json, weights).graph);
  const theirs = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: a.topology, weightSpecs: a.specs, weightData: a.data }));
  return { ours, theirs };
}

function randomize(model: tf.LayersModel, seed: number) {
  const rng = new Random(seed);
  for (const layer of model.layers) {
    const ws = layer.getWeights();
    if (ws.length === 0) continue;
    const bn = layer.getClassName() === 'BatchNormalization';
    layer.setWeights(ws.map((w, i) => tf.tensor(bn && i === 3 ? rng.uniforms(w.size, 0.5, 1.5) : bn && i === 0 ? rng.uniforms(w.size, 0.5, 1.5) : rng.normals(w.size, 0.3), w.shape)));
  }
}

function images(batch: number, c: number, h: number, w: number, seed: number) {
  const nchw = new Random(seed).uniforms(batch * c * h * w, -1, 1);
  const nhwc = new Float32Array(nchw.length);
  for (let n = 0; n < batch; n++) for (let ch = 0; ch < c; ch++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) nhwc[((n * h + y) * w + x) * c + ch] = nchw[((n * c + ch) * h + y) * w + x];
  return { nchw, nhwc: tf.tensor(nhwc, [batch, h, w, c]) };
}

const L = tf.layers;
const apply = (layer: tf.layers.Layer, x: Sym | Sym[]) => layer.apply(x) as Sym;

/** Keras applications' MobileNet (v1) layout at a small width: stem, depthwise-separable blocks, 1x1 conv head. */
function mobilenetV1(): tf.LayersModel {
  const input = tf.input({ shape: [33, 31, 3], name: 'input_1' });
  let x = apply(L.zeroPadding2d({ padding: [[0, 1], [0, 1]], name: 'conv1_pad' }), input);
  x = apply(L.conv2d({ filters: 8, kernelSize: 3, strides: 2, useBias: false, name: 'conv1' }), x);
  x = apply(L.reLU({ maxValue: 6, name: 'conv1_relu' }), apply(L.batchNormalization({ name: 'conv1_bn' }), x));
  const block = (i: number, filters: number, stride: number, multiplier = 1) => {
    if (stride === 2) x = apply(L.zeroPadding2d({ padding: [[0, 1], [0, 1]], name: `conv_pad_${i}` }), x);
    x = apply(L.depthwiseConv2d({ kernelSize: 3, strides: stride, depthMultiplier: multiplier, padding: stride === 1 ? 'same' : 'valid', useBias: false, name: `conv_dw_${i}` }), x);
    x = apply(L.reLU({ maxValue: 6, name: `conv_dw_${i}_relu` }), apply(L.batchNormalization({ name: `conv_dw_${i}_bn` }), x));
    x = apply(L.conv2d({ filters, kernelSize: 1, useBias: false, name: `conv_pw_${i}` }), x);
    x = apply(L.reLU({ maxValue: 6, name: `conv_pw_${i}_relu` }), apply(L.batchNormalization({ name: `conv_pw_${i}_bn` }), x));
  };
  block(1, 16, 1);
  block(2, 24, 2, 2);
  block(3, 24, 1);
  block(4, 32, 2);
  x = apply(L.globalAveragePooling2d({ name: 'global_average_pooling2d' }), x);
  x = apply(L.reshape({ targetShape: [1, 1, 32], name: 'reshape_1' }), x);
  x = apply(L.dropout({ rate: 0.001, name: 'dropout' }), x);
  x = apply(L.conv2d({ filters: 7, kernelSize: 1, padding: 'same', name: 'conv_preds' }), x);
  x = apply(L.reshape({ targetShape: [7], name: 'reshape_2' }), x);
  return tf.model({ inputs: input, outputs: x });
}

/** Keras applications' MobileNetV2 layout at a small width: inverted residuals with ReLU(6), a Dense head. */
function mobilenetV2(): tf.LayersModel {
  const input = tf.input({ shape: [32, 30, 3], name: 'input_1' });
  let x = apply(L.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'same', useBias: false, name: 'Conv1' }), input);
  x = apply(L.reLU({ maxValue: 6, name: 'Conv1_relu' }), apply(L.batchNormalization({ name: 'bn_Conv1' }), x));
  let channels = 8;
  const block = (i: number, expansion: number, filters: number, stride: number) => {
    const inputs = x;
    const p = `block_${i}_`;
    let y = x;
    if (expansion !== 1) {
      y = apply(L.conv2d({ filters: channels * expansion, kernelSize: 1, useBias: false, name: `${p}expand` }), y);
      y = apply(L.reLU({ maxValue: 6, name: `${p}expand_relu` }), apply(L.batchNormalization({ name: `${p}expand_BN` }), y));
    }
    if (stride === 2) y = apply(L.zeroPadding2d({ padding: [[0, 1], [0, 1]], name: `${p}pad` }), y);
    y = apply(L.depthwiseConv2d({ kernelSize: 3, strides: stride, padding: stride === 1 ? 'same' : 'valid', useBias: false, name: `${p}depthwise` }), y);
    y = apply(L.reLU({ maxValue: 6, name: `${p}depthwise_relu` }), apply(L.batchNormalization({ name: `${p}depthwise_BN` }), y));
    y = apply(L.batchNormalization({ name: `${p}project_BN` }), apply(L.conv2d({ filters, kernelSize: 1, useBias: false, name: `${p}project` }), y));
    x = channels === filters && stride === 1 ? apply(L.add({ name: `${p}add` }), [inputs, y]) : y;
    channels = filters;
  };
  block(0, 1, 8, 1);
  block(1, 3, 12, 2);
  block(2, 3, 12, 1);
  block(3, 3, 16, 2);
  x = apply(L.conv2d({ filters: 24, kernelSize: 1, useBias: false, name: 'Conv_1' }), x);
  x = apply(L.reLU({ maxValue: 6, name: 'out_relu' }), apply(L.batchNormalization({ name: 'Conv_1_bn' }), x));
  x = apply(L.globalAveragePooling2d({ name: 'global_average_pooling2d' }), x);
  x = apply(L.dense({ units: 6, name: 'predictions' }), x);
  return tf.model({ inputs: input, outputs: x });
}

/** The other layers of issue 14: SeparableConv2D, LeakyReLU, Concatenate, an SE gate, relu6/hard_sigmoid/swish. */
function otherLayers(): tf.LayersModel {
  const input = tf.input({ shape: [21, 19, 3], name: 'image' });
  let x = apply(L.separableConv2d({ filters: 8, kernelSize: 3, padding: 'same', activation: 'relu6', name: 'sep' }), input);
  const a = apply(L.leakyReLU({ alpha: 0.2, name: 'leaky' }), apply(L.conv2d({ filters: 6, kernelSize: 3, strides: 2, name: 'c1' }), x));
  const b = apply(L.conv2d({ filters: 5, kernelSize: 3, strides: 2, activation: 'swish', name: 'c2' }), x);
  x = apply(L.concatenate({ name: 'cat' }), [a, b]);
  let s = apply(L.globalAveragePooling2d({ name: 'se_pool' }), x);
  s = apply(L.reshape({ targetShape: [1, 1, 11], name: 'se_reshape' }), s);
  s = apply(L.conv2d({ filters: 4, kernelSize: 1, activation: 'relu', name: 'se_reduce' }), s);
  s = apply(L.conv2d({ filters: 11, kernelSize: 1, activation: 'hardSigmoid', name: 'se_expand' }), s);
  x = apply(L.multiply({ name: 'se_mul' }), [x, s]);
  x = apply(L.activation({ activation: 'sigmoid', name: 'act' }), apply(L.conv2d({ filters: 6, kernelSize: 1, name: 'c3' }), x));
  x = apply(L.globalAveragePooling2d({ name: 'gap' }), x);
  x = apply(L.dense({ units: 4, name: 'fc' }), x);
  return tf.model({ inputs: input, outputs: x });
}

const MODELS = [
  { name: 'MobileNet (v1)', make: mobilenetV1, piecewiseLinear: true },
  { name: 'MobileNetV2', make: mobilenetV2, piecewiseLinear: true },
  { name: 'SeparableConv2D, LeakyReLU, Concatenate, an SE gate', make: otherLayers, piecewiseLinear: false },
];

describe.each(MODELS)('$name', ({ make, piecewiseLinear }) => {
  const model = make();
  randomize(model, 5);
  const [, h, w, c] = model.inputs[0].shape as number[];
  const { nchw, nhwc } = images(2, c, h, w, 6);

  it.each<Quantization>([null, 'uint8', 'uint16', 'float16'])('outputs equal tfjs with %s weights, on both engines', async (q) => {
    const { ours, theirs } = await both(quantize(await artifacts(model), q));
    const want = (theirs.predict(nhwc) as tf.Tensor).dataSync();
    expectClose(await ours.forward(nchw, { batch: 2 }), want, 1e-5, 'wasm');
    expectClose(await ours.forward(nchw, { batch: 2, backend: 'reference' }), want, 1e-5, 'reference');
    if (q) {
      // Quantization changed the function, which both read the same way: not the float32 model's.
      const float = (model.predict(nhwc) as tf.Tensor).dataSync();
      const { diff } = (await import('./helpers/compare.js')).maxDiff(want, float);
      expect(diff, `${q} weights change the outputs`).toBeGreaterThan(0);
    }
  });

  if (piecewiseLinear) {
    it('LRP-0 from the logit equals tfjs gradient x input', async () => {
      const { ours, theirs } = await both(await artifacts(model));
      const graph = ours.canonicalGraph(true);
      const { values } = referenceForward(graph, Float64Array.from(nchw), 2);
      const clipped = graph.nodes.filter((n) => n.op === 'Clip' && Math.max(...values.get(n.inputs[0])!) >= n.max);
      expect(clipped.map((n) => n.name), 'ReLU6 inputs stay below 6 on these inputs').toEqual([]);
      for (const target of [0, 3]) {
        const lrp = await ours.explain(nchw, {
          batch: 2,
          target,
          initial: 'logit',
          composite: { name: 'epsilon', epsilon: 0, stabilizer: 0, overrides: [{ type: 'Conv2d', rule: { rule: 'lrp0', stabilizer: 0 } }] },
        });
        const grad = tf.grad((x: tf.Tensor) => (theirs.predict(x) as tf.Tensor).slice([0, target], [-1, 1]).sum())(nhwc);
        const gxi = tf.mul(grad, nhwc).transpose([0, 3, 1, 2]).dataSync();
        expectClose(lrp.relevance, gxi, 1e-4, `target ${target}`);
      }
    });
  }

  it('explains with every composite on both engines', async () => {
    const { ours } = await both(await artifacts(model));
    const x = nchw.subarray(0, c * h * w);
    for (const composite of ['epsilon-plus-flat', 'epsilon-gamma-box', 'epsilon-alpha2-beta1']) {
      const a = await ours.explain(x, { composite });
      const b = await ours.explain(x, { composite, backend: 'reference' });
      expect(a.relevance.every(Number.isFinite)).toBe(true);
      expectClose(a.relevance, b.relevance, 1e-3, `${composite} wasm vs reference`);
    }
  });
});

describe('Keras import refuses, naming the layer', () => {
  it('a Multiply that is not a gate', async () => {
    const input = tf.input({ shape: [8, 8, 3], name: 'image' });
    const a = apply(L.conv2d({ filters: 4, kernelSize: 1, name: 'a' }), input);
    const b = apply(L.conv2d({ filters: 4, kernelSize: 1, name: 'b' }), input);
    const y = apply(L.dense({ units: 2, name: 'fc' }), apply(L.globalAveragePooling2d({ name: 'gap' }), apply(L.multiply({ name: 'prod' }), [a, b])));
    await expect(both(await artifacts(tf.model({ inputs: input, outputs: y })))).rejects.toThrow(/Keras layer "prod" \(Multiply\) multiplies "a" \[4,8,8\] by "b" \[4,8,8\]; relprop reads Multiply only as a squeeze-and-excitation gate/);
  });
  it('an unknown activation', async () => {
    const input = tf.input({ shape: [8, 8, 3], name: 'image' });
    const y = apply(L.dense({ units: 2, name: 'fc' }), apply(L.globalAveragePooling2d({ name: 'gap' }), apply(L.conv2d({ filters: 4, kernelSize: 1, activation: 'selu', name: 'c' }), input)));
    await expect(both(await artifacts(tf.model({ inputs: input, outputs: y })))).rejects.toThrow(/Keras layer "c" \(Conv2D\): activation "selu"; relprop supports linear, relu, relu6/);
  });
});
