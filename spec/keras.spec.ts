/**
 * Keras / TF.js layers import against @tensorflow/tfjs (CPU backend) on the same model.json: a small
 * functional model built here with every layer type relprop reads (its weights saved exactly as TF.js
 * saves them), a Sequential one whose Dense reads a flattened feature map (the NHWC -> NCHW reordering),
 * and the errors for what it cannot read.
 *
 * Tolerance: max |ours - tfjs| <= 1e-5 * max |tfjs| (both float32, different summation orders).
 */
import { tf } from './helpers/tfjs.js';
import { describe, expect, it } from 'vitest';
import { importKeras, Model, parseModelJson, readWeights } from '../src/index.js';
import { Random } from '../src/architectures/random.js';
import { expectClose } from './helpers/compare.js';

const TOL = 1e-5;

interface Saved {
  json: string;
  weights: Uint8Array;
}

async function save(model: tf.LayersModel): Promise<Saved> {
  let saved: Saved | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      const manifest = [{ paths: ['group1-shard1of1.bin'], weights: a.weightSpecs }];
      saved = { json: JSON.stringify({ format: 'layers-model', modelTopology: a.modelTopology, weightsManifest: manifest }), weights: new Uint8Array(a.weightData as ArrayBuffer) };
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return saved!;
}

async function importSaved(s: Saved): Promise<Model> {
  const json = parseModelJson(s.json);
  const weights = await readWeights(json.weightsManifest, () => s.weights);
  return new Model(importKeras(json, weights).graph);
}

/** Non-trivial values for every weight (BatchNorm statistics included), seeded. */
function randomize(model: tf.LayersModel, seed: number) {
  const rng = new Random(seed);
  for (const layer of model.layers) {
    const ws = layer.getWeights();
    if (ws.length === 0) continue;
    layer.setWeights(
      ws.map((w, i) => {
        const n = w.size;
        const variance = layer.getClassName() === 'BatchNormalization' && i === 3;
        return tf.tensor(variance ? rng.uniforms(n, 0.5, 1.5) : rng.normals(n, layer.getClassName() === 'BatchNormalization' && i === 0 ? 0.2 : 0.3), w.shape);
      }),
    );
  }
}

/** NCHW batch for us and the same images NHWC for tfjs. */
function images(batch: number, c: number, h: number, w: number, seed: number) {
  const nchw = new Random(seed).uniforms(batch * c * h * w, -1, 1);
  const nhwc = new Float32Array(nchw.length);
  for (let n = 0; n < batch; n++)
    for (let ch = 0; ch < c; ch++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) nhwc[((n * h + y) * w + x) * c + ch] = nchw[((n * c + ch) * h + y) * w + x];
  return { nchw, nhwc: tf.tensor(nhwc, [batch, h, w, c]) };
}

function functionalModel(finalActivation: 'linear' | 'softmax') {
  const input = tf.input({ shape: [19, 17, 3], name: 'image' });
  let x = tf.layers.zeroPadding2d({ padding: [[1, 2], [2, 1]], name: 'pad' }).apply(input) as tf.SymbolicTensor;
  x = tf.layers.conv2d({ filters: 6, kernelSize: 3, strides: 2, activation: 'relu', name: 'c1' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.conv2d({ filters: 8, kernelSize: [3, 2], padding: 'same', useBias: false, name: 'c2' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization({ name: 'bn2', epsilon: 1e-3 }).apply(x) as tf.SymbolicTensor;
  const a = tf.layers.activation({ activation: 'relu', name: 'act2' }).apply(x) as tf.SymbolicTensor;
  let b = tf.layers.conv2d({ filters: 8, kernelSize: 1, dilationRate: 1, name: 'c3' }).apply(a) as tf.SymbolicTensor;
  b = tf.layers.reLU({ name: 'relu3' }).apply(b) as tf.SymbolicTensor;
  x = tf.layers.add({ name: 'sum' }).apply([a, b]) as tf.SymbolicTensor;
  x = tf.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same', name: 'mp' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.averagePooling2d({ poolSize: 2, strides: 1, padding: 'same', name: 'ap' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.conv2d({ filters: 12, kernelSize: 3, dilationRate: 2, padding: 'same', name: 'c4' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.dropout({ rate: 0.5, name: 'drop' }).apply(x) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 5, activation: finalActivation, name: 'fc' }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}

function sequentialModel() {
  return tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [12, 10, 2], filters: 4, kernelSize: 3, activation: 'relu', name: 'c1' }),
      tf.layers.averagePooling2d({ poolSize: 2, name: 'ap' }),
      tf.layers.flatten({ name: 'flat' }),
      tf.layers.dense({ units: 7, activation: 'relu', name: 'd1' }),
      tf.layers.dense({ units: 3, name: 'd2' }),
    ],
  });
}

/**
 * The layers of the face-attribute models users brought (issue 27): a 1-channel input, tanh, a global
 * max pool, a BatchNormalization after a Dense layer (which folds into it), and a Multiply gate.
 */
function faceAttributeModel() {
  const input = tf.input({ shape: [14, 12, 1], name: 'gray' });
  let x = tf.layers.conv2d({ filters: 6, kernelSize: 3, activation: 'tanh', name: 'c1' }).apply(input) as tf.SymbolicTensor;
  const squeezed = tf.layers.globalAveragePooling2d({ name: 'se_gap' }).apply(x) as tf.SymbolicTensor;
  const unflat = tf.layers.reshape({ targetShape: [1, 1, 6], name: 'se_reshape' }).apply(squeezed) as tf.SymbolicTensor;
  const gate = tf.layers.conv2d({ filters: 6, kernelSize: 1, activation: 'sigmoid', name: 'se_conv' }).apply(unflat) as tf.SymbolicTensor;
  x = tf.layers.multiply({ name: 'se_mul' }).apply([x, gate]) as tf.SymbolicTensor;
  x = tf.layers.globalMaxPooling2d({ name: 'gmp' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.dense({ units: 10, name: 'd1' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization({ name: 'bn1', epsilon: 1e-3 }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.activation({ activation: 'relu', name: 'act1' }).apply(x) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 3, name: 'logits' }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}

describe('Keras / TF.js layers import equals tfjs', () => {
  it('a 1-channel model with tanh, a gate, a global max pool and a BatchNormalization after Dense', async () => {
    const model = faceAttributeModel();
    randomize(model, 5);
    const { nchw, nhwc } = images(2, 1, 14, 12, 6);
    const ours = await importSaved(await save(model));
    expect(ours.graph.nodes.map((n) => n.op)).toEqual(['Conv2d', 'Tanh', 'GlobalAvgPool', 'Identity', 'Conv2d', 'Sigmoid', 'Gate', 'MaxPool2d', 'Flatten', 'Linear', 'BatchNorm', 'ReLU', 'Linear']);
    const theirs = (model.predict(nhwc) as tf.Tensor).dataSync();
    expectClose(await ours.forward(nchw, { batch: 2 }), theirs, TOL, 'logits');
    expectClose(await ours.forward(nchw, { batch: 2, backend: 'reference' }), theirs, TOL, 'reference logits');
    expect(ours.canonicalGraph(true).nodes.some((n) => n.op === 'BatchNorm')).toBe(false);
    for (const composite of ['epsilon-plus-flat', 'epsilon-gamma-box']) {
      const a = await ours.explain(nchw, { batch: 2, composite, target: 1 });
      const b = await ours.explain(nchw, { batch: 2, composite, target: 1, backend: 'reference' });
      expect(a.relevance.some((v) => v !== 0)).toBe(true);
      expectClose(a.relevance, b.relevance, 1e-4, `${composite}: wasm vs reference`);
    }
  });


  it('a functional model with every supported layer type (logits, then the softmax split off)', async () => {
    const logitsModel = functionalModel('linear');
    randomize(logitsModel, 1);
    const probsModel = functionalModel('softmax');
    probsModel.setWeights(logitsModel.getWeights());
    const { nchw, nhwc } = images(2, 3, 19, 17, 2);

    const ours = await importSaved(await save(logitsModel));
    expect(ours.inputShape).toEqual([3, 19, 17]);
    expectClose(await ours.forward(nchw, { batch: 2 }), (logitsModel.predict(nhwc) as tf.Tensor).dataSync(), TOL, 'logits');
    expectClose(await ours.forward(nchw, { batch: 2, backend: 'reference' }), (logitsModel.predict(nhwc) as tf.Tensor).dataSync(), TOL, 'reference logits');

    const withSoftmax = await importSaved(await save(probsModel));
    const last = withSoftmax.graph.nodes[withSoftmax.graph.nodes.length - 1];
    expect(last.op).toBe('Softmax');
    expectClose(await withSoftmax.forward(nchw, { batch: 2 }), (logitsModel.predict(nhwc) as tf.Tensor).dataSync(), TOL, 'logits before the split-off softmax');
    expectClose(await withSoftmax.predict(nchw, { batch: 2 }), (probsModel.predict(nhwc) as tf.Tensor).dataSync(), TOL, 'probabilities');
    const e = await withSoftmax.explain(nchw, { batch: 2, composite: 'epsilon-gamma-box' });
    expect(e.relevance.every(Number.isFinite)).toBe(true);
  });

  it('a Sequential model whose Dense reads a flattened feature map (rows reordered to NCHW)', async () => {
    const model = sequentialModel();
    randomize(model, 3);
    const { nchw, nhwc } = images(3, 2, 12, 10, 4);
    const ours = await importSaved(await save(model));
    expectClose(await ours.forward(nchw, { batch: 3 }), (model.predict(nhwc) as tf.Tensor).dataSync(), TOL, 'logits');
  });
});

describe('Keras import refuses what it cannot read, by name', () => {
  const base = async () => {
    const model = sequentialModel();
    return save(model);
  };
  const edit = async (f: (j: any) => void) => {
    const s = await base();
    const j = JSON.parse(s.json);
    f(j);
    return importSaved({ json: JSON.stringify(j), weights: s.weights });
  };
  it('an unsupported layer type', async () => {
    // (SeparableConv2D was the example until issue 14 made it supported.)
    await expect(edit((j) => (j.modelTopology.config.layers[1].class_name = 'Conv3D'))).rejects.toThrow(
      /Keras layer "ap" \(Conv3D\): layer type "Conv3D" is not supported; relprop reads InputLayer, ZeroPadding2D, Conv2D/,
    );
  });
  it('an unsupported activation', async () => {
    await expect(edit((j) => (j.modelTopology.config.layers[0].config.activation = 'elu'))).rejects.toThrow(/Keras layer "c1" \(Conv2D\): activation "elu"/);
  });
  it('shards shorter than the manifest declares', async () => {
    const s = await base();
    const json = parseModelJson(s.json);
    await expect(readWeights(json.weightsManifest, () => s.weights.subarray(0, 100))).rejects.toThrow(/hold 100 bytes; model.json declares \d+ \(a truncated or mismatched download\?\)/);
  });
  it('a weight of the wrong shape', async () => {
    await expect(edit((j) => (j.modelTopology.config.layers[3].config.units = 8))).rejects.toThrow(/Keras layer "d1": weight "kernel" has shape \[\d+,7\], expected \[\d+,8\]/);
  });
  it('a graph model instead of a layers model', () => {
    expect(() => parseModelJson('{"format":"saved-model","modelTopology":{},"weightsManifest":[]}')).toThrow(/format "saved-model"; relprop reads TF.js layers models and graph models/);
  });
  it('NaN in the weights', async () => {
    const s = await base();
    const json = parseModelJson(s.json);
    const bad = s.weights.slice();
    new DataView(bad.buffer).setFloat32(8, NaN, true);
    await expect(readWeights(json.weightsManifest, () => bad)).rejects.toThrow(/weight "c1\/kernel" holds a non-finite value \(NaN\) at index 2/);
  });
});
