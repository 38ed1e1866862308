/**
 * TF.js graph models (issue 15): GraphDefs written as the TF.js converter writes them
 * (spec/helpers/graph-models.ts: fused convs and matmuls with their fused-op lists, depthwise convs,
 * FusedBatchNormV3, the input's Mul/Sub scaling, Pad, pools, Mean, ConcatV2, Squeeze, Reshape, Softmax)
 * in float32 and in each of the converter's quantizations, loaded by relprop and by tfjs's own
 * loadGraphModel from the same files.
 *
 * Tolerances: outputs 1e-5 of scale against tfjs (both compute in float32 from the same weights,
 * in different orders); wasm against the float64 reference as spec/architectures.spec.ts, max(1e-4,
 * 10 S) with S the reference's move under 1e-7 relative weight jitter — here a fixed 1e-4, since these
 * small nets are well conditioned (S measured below 1e-6).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMPOSITES } from '../src/composites.js';
import { explainImage } from '../src/app/explain-image.js';
import { loadModel, RelpropError } from '../src/index.js';
import { png } from './helpers/images.js';
import { expectClose } from './helpers/compare.js';
import { attr, faceAttributeLike, GraphDefBuilder, mobileNetLike, vggLike, type GraphModelFiles } from './helpers/graph-models.js';
import { damagedFilesEndCleanly } from './helpers/damage.js';
import { tf } from './helpers/tfjs.js';

function write(files: GraphModelFiles): string {
  const dir = mkdtempSync(join(tmpdir(), 'relprop-graph-'));
  writeFileSync(join(dir, 'model.json'), JSON.stringify(files.json));
  writeFileSync(join(dir, 'group1-shard1of1.bin'), files.shard);
  return dir;
}

async function tfjsModel(files: GraphModelFiles) {
  const weightData = files.shard.buffer.slice(files.shard.byteOffset, files.shard.byteOffset + files.shard.byteLength) as ArrayBuffer;
  return tf.loadGraphModel(tf.io.fromMemory({ modelTopology: files.json.modelTopology as never, weightSpecs: files.json.weightsManifest[0].weights as never, weightData, format: 'graph-model' }));
}

/** A batch of images in [0, 255] (the MobileNet-like graph scales its own input), NHWC for tfjs, NCHW for relprop. */
function images(h: number, w: number, c: number, batch: number, range: number): { nhwc: Float32Array; nchw: Float32Array } {
  const nhwc = new Float32Array(batch * h * w * c);
  for (let i = 0; i < nhwc.length; i++) nhwc[i] = range * (0.5 + 0.5 * Math.sin(0.37 * i + 0.2 * Math.cos(0.011 * i)));
  const nchw = new Float32Array(nhwc.length);
  for (let b = 0; b < batch; b++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let k = 0; k < c; k++) nchw[((b * c + k) * h + y) * w + x] = nhwc[((b * h + y) * w + x) * c + k];
  return { nhwc, nchw };
}

const CASES = [
  { name: 'MobileNet-like', make: mobileNetLike, hwc: [32, 32, 3], range: 255, preprocessing: 'raw' },
  { name: 'VGG-like (Reshape, transpose_b)', make: vggLike, hwc: [16, 16, 3], range: 1, preprocessing: 'keras-tf' },
  { name: 'face-attribute-like (1 channel, Maximum/Minimum, Tanh, a gate, Max, BatchNorm after MatMul)', make: faceAttributeLike, hwc: [16, 16, 1], range: 255, preprocessing: 'raw' },
] as const;
const QUANTIZATIONS = [undefined, 'uint8', 'uint16', 'float16'] as const;

describe.each(CASES)('$name graph model', ({ make, hwc, range, preprocessing }) => {
  it.each(QUANTIZATIONS)('quantization %s: outputs equal tfjs loadGraphModel on the same files, on both engines', async (q) => {
    const files = make(7, q);
    const ours = await loadModel(write(files));
    const theirs = await tfjsModel(files);
    const [h, w, c] = hwc;
    expect(ours.inputShape).toEqual([c, h, w]);
    expect(ours.info.origin).toBe('tfjs-graph');
    expect(ours.info.preprocessing?.name).toBe(preprocessing);
    const x = images(h, w, c, 2, range);
    const input = tf.tensor4d(x.nhwc, [2, h, w, c]);
    const logits = (theirs.execute(input, files.logits) as tf.Tensor).dataSync();
    const output = (theirs.predict(input) as tf.Tensor).dataSync();
    expectClose(await ours.forward(x.nchw, { batch: 2, backend: 'reference' }), logits, 1e-5, 'reference logits vs tfjs');
    expectClose(await ours.forward(x.nchw, { batch: 2 }), logits, 1e-5, 'wasm logits vs tfjs');
    const softmax = ours.graph.byName.get(ours.graph.output)?.op === 'Softmax';
    expectClose(softmax ? await ours.predict(x.nchw, { batch: 2 }) : await ours.forward(x.nchw, { batch: 2 }), output, 1e-5, 'outputs vs tfjs');
  });
  it('every composite runs, and wasm equals the reference', async () => {
    const files = make(11);
    const model = await loadModel(write(files));
    const [h, w, c] = hwc;
    const x = images(h, w, c, 1, range).nchw;
    for (const { name } of COMPOSITES) {
      const a = await model.explain(x, { composite: name, target: 3, backend: 'reference' });
      const b = await model.explain(x, { composite: name, target: 3 });
      expect(a.relevance.some((v) => v !== 0), name).toBe(true);
      expectClose(b.relevance, a.relevance, 1e-4, name);
    }
  });
});

describe('the face-attribute ops read as the ops relprop has rules for', () => {
  it('Maximum(x, 0) then Minimum(x, 6) is one Clip; Mul of two maps a gate; Max over H, W a max pool; Mul and AddV2 after a MatMul a BatchNorm that folds into it', async () => {
    const model = await loadModel(write(faceAttributeLike(3)));
    const ops = model.graph.nodes.map((n) => `${n.name}:${n.op}`);
    expect(ops).toEqual([
      'scale/mul:BatchNorm', 'scale/sub:BatchNorm', 'conv1:Conv2d', 'conv1/clip/Minimum:Clip', 'conv2:Conv2d', 'conv2/tanh:Tanh',
      'se/mean:GlobalAvgPool', 'se/conv:Conv2d', 'se/sigmoid:Sigmoid', 'se/mul:Gate', 'gmp.pool:MaxPool2d', 'gmp:Flatten',
      'fc1/matmul:Linear', 'bn/mul:BatchNorm', 'bn/add:BatchNorm', 'fc1/relu:ReLU', 'logits:Linear',
    ]);
    expect(model.graph.byName.get('conv1/clip/Minimum')).toMatchObject({ min: 0, max: 6 });
    expect(model.graph.byName.get('gmp.pool')).toMatchObject({ kernel: [8, 8], stride: [1, 1] });
    // A photo is fed its luminance (issue 26); explainImage runs end to end on the 1-channel model.
    const rgb = Array.from({ length: 20 * 24 * 3 }, (_, i) => (i * 37) % 256);
    const e = await explainImage(model, png(24, 20, 2, rgb));
    expect(e.relevance.length).toBe(16 * 16);
    expect(e.relevance.some((v) => v !== 0)).toBe(true);
    // Folded as Zennit's canonizer folds a BatchNorm1d after a Linear: no BatchNorm is left after fc1.
    expect(model.canonicalGraph(true).nodes.filter((n) => n.op === 'BatchNorm').map((n) => n.name)).toEqual(['scale/mul', 'scale/sub']);
  });
});

describe('a bias is folded only into a layer nothing else reads, through aliases too', () => {
  it('Conv2D -> Identity -> {BiasAdd, Relu}: the Relu reads the conv without the bias, as tfjs computes', async () => {
    const g = new GraphDefBuilder(9);
    const f32 = { T: attr.float32 };
    const x = g.placeholder('in', 6, 6, 2);
    const conv = g.conv('conv', x, [3, 3, 2, 3], 1, 'SAME');
    const id = g.node('id', 'Identity', [conv], f32);
    const biased = g.node('biased', 'BiasAdd', [id, g.weight('b', [3], [0.5, -0.25, 1])], { ...f32, data_format: attr.str('NHWC') });
    const relu = g.node('relu', 'Relu', [id], f32);
    const sum = g.node('sum', 'AddV2', [biased, relu], f32);
    const flat = g.node('flat', 'Reshape', [sum, g.ints('shape', [2], [-1, 108])], { ...f32, Tshape: { type: 'DT_INT32' } });
    const logits = g.node('logits', 'MatMul', [flat, g.weight('w', [108, 4])], { ...f32, transpose_a: attr.bool(false), transpose_b: attr.bool(false) });
    const files = { ...g.files(), logits };
    const ours = await loadModel(write(files));
    const theirs = await tfjsModel(files);
    const { nhwc, nchw } = images(6, 6, 2, 1, 1);
    expectClose(await ours.forward(nchw), (theirs.execute(tf.tensor4d(nhwc, [1, 6, 6, 2]), logits) as tf.Tensor).dataSync(), 1e-5, 'logits vs tfjs');
    expect(ours.graph.byName.get('conv')).toMatchObject({ bias: null });
  });
});

describe('the preprocessing a graph model gets follows its own input scaling', () => {
  it('x / 127.5 - 1 expects 0..255 pixels (raw); 2x - 1 expects 0..1 (unit); no scaling, [-1, 1] (keras-tf)', async () => {
    const files = mobileNetLike(5);
    expect((await loadModel(write(files))).info.preprocessing?.name).toBe('raw');
    // The shard's first value is the Mul's constant (1 / 127.5).
    new DataView(files.shard.buffer, files.shard.byteOffset).setFloat32(0, 2, true);
    expect((await loadModel(write(files))).info.preprocessing?.name).toBe('unit');
    expect((await loadModel(write(vggLike(5)))).info.preprocessing?.name).toBe('keras-tf');
    expect((await loadModel(write(vggLike(5)), { preprocessing: 'unit' })).info.preprocessing?.name).toBe('unit');
  });
});

describe('graph models relprop cannot read say which node and op', () => {
  it('an unsupported op, a reshape that does not flatten, a second output', async () => {
    const files = vggLike(1);
    const nodes = files.json.modelTopology.node as { name: string; op: string; input?: string[] }[];
    nodes.find((n) => n.name === 'conv2/relu6')!.op = 'Elu';
    await expect(loadModel(write(files))).rejects.toThrow(/graph node "conv2\/relu6" \(Elu\): op Elu is not supported; relprop reads Placeholder, Const/);
    const two = vggLike(1);
    (two.json.modelTopology.node as unknown[]).push({ name: 'extra', op: 'Relu', input: ['conv1'] });
    await expect(loadModel(write(two))).rejects.toThrow(/graph model: 2 outputs \(dense, extra\); relprop explains single-output classifiers/);
  });
});

// Damaged model.json text or shard bytes end in a RelpropError (or, for a flip inside the numbers,
// other numbers), never another exception; 300 runs of each kind, as for ONNX and the state dicts.
describe('damaged graph models end in clear errors', () => {
  const files = mobileNetLike(3, 'uint8');
  const json = new TextEncoder().encode(JSON.stringify(files.json));
  const load = async (text: Uint8Array, shard: Uint8Array) => {
    const { parseModelJson } = await import('../src/io/tfjs/keras.js');
    const { readWeights } = await import('../src/io/tfjs/weights.js');
    const { importGraphModel } = await import('../src/io/tfjs/graph-model.js');
    const parsed = parseModelJson(new TextDecoder().decode(text));
    const weights = await readWeights(parsed.weightsManifest, (_, limit) => {
      if (shard.byteLength > limit) throw new RelpropError('BAD_MODEL', `shard larger than ${limit}`);
      return shard;
    });
    importGraphModel(parsed as never, weights);
  };
  it.each([
    ['model.json', 'truncated'],
    ['model.json', 'bit-flipped'],
    ['shard', 'truncated'],
    ['shard', 'size-inflated'],
  ] as const)('%s %s', (which, kind) =>
    which === 'shard' ? damagedFilesEndCleanly(files.shard, kind, (shard) => load(json, shard)) : damagedFilesEndCleanly(json, kind, (text) => load(text, files.shard)),
  );
});
