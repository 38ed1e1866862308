/**
 * Prepared models (src/io/prepared/): for every format relprop imports, a model read from its prepared
 * form is the model imported from its source: the same graph (every field and weight) and the same
 * relevance and logits bit for bit, on both engines. One is used only while its source files are
 * unchanged and this build made it; a damaged one is refused with a RelpropError (fuzzed) and, in the
 * cache, only costs the import.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadModel, prepareModel, RelpropError, type LoadOptions, type Model } from '../src/index.js';
import { decodePrepared, encodePrepared, PREPARED_VERSION } from '../src/io/prepared/format.js';
import { DEFAULT_MODEL } from '../src/io/registry/default-model.js';
import { damagedFilesEndCleanly, DAMAGES } from './helpers/damage.js';
import { fixtureInputs } from './helpers/fixture-inputs.js';
import { mobileNetLike } from './helpers/graph-models.js';
import { tf } from './helpers/tfjs.js';

const root = mkdtempSync(join(tmpdir(), 'relprop-prepared-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const FIXTURES = join(import.meta.dirname, 'fixtures');

/** A Keras layers model saved as TF.js saves it (conv, BatchNorm, ReLU, pool, dense), in its own folder. */
async function kerasModelDir(name: string): Promise<string> {
  const input = tf.input({ shape: [12, 12, 3] });
  let x = tf.layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same', kernelInitializer: tf.initializers.randomNormal({ seed: 1 }) }).apply(input) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization({ betaInitializer: tf.initializers.randomNormal({ seed: 2 }), movingMeanInitializer: tf.initializers.randomNormal({ seed: 3 }) }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.reLU().apply(x) as tf.SymbolicTensor;
  x = tf.layers.maxPooling2d({ poolSize: 2 }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.flatten().apply(x) as tf.SymbolicTensor;
  x = tf.layers.dense({ units: 5, kernelInitializer: tf.initializers.randomNormal({ seed: 4 }), biasInitializer: tf.initializers.randomNormal({ seed: 5 }) }).apply(x) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: x });
  const dir = join(root, name);
  mkdirSync(dir);
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      writeFileSync(join(dir, 'model.json'), JSON.stringify({ format: 'layers-model', modelTopology: a.modelTopology, weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: a.weightSpecs }] }));
      writeFileSync(join(dir, 'group1-shard1of1.bin'), new Uint8Array(a.weightData as ArrayBuffer));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return join(dir, 'model.json');
}

function graphModelDir(name: string): string {
  const files = mobileNetLike(3, 'float16');
  const dir = join(root, name);
  mkdirSync(dir);
  writeFileSync(join(dir, 'model.json'), JSON.stringify(files.json));
  writeFileSync(join(dir, files.json.weightsManifest[0].paths[0]), files.shard);
  return join(dir, 'model.json');
}

/** Every node's fields, typed arrays as the SHA-256 of their bytes, for a comparison that sees every bit. */
const fields = (m: Model) =>
  JSON.stringify(m.graph.nodes, (_k, v) => (ArrayBuffer.isView(v) ? `${v.constructor.name}:${createHash('sha256').update(new Uint8Array(v.buffer, v.byteOffset, v.byteLength)).digest('hex')}` : Object.is(v, -0) ? '-0' : v));
const bytesOf = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
/** The model's info but where its prepared form is. */
const info = (m: Model) => JSON.stringify({ ...m.info, prepared: undefined });

/**
 * The same graph and info, and the same logits and relevance on both engines (the reference engine's
 * float64 passes are slow on a 224 x 224 ResNet-50: `backends` can leave it out).
 */
async function expectSameModel(fromSource: Model, fromPrepared: Model, backends: readonly ('wasm' | 'reference')[] = ['wasm', 'reference'], batch = 2): Promise<void> {
  expect(fields(fromPrepared)).toBe(fields(fromSource));
  expect(fromPrepared.graph.input).toEqual(fromSource.graph.input);
  expect(fromPrepared.graph.output).toBe(fromSource.graph.output);
  expect(info(fromPrepared)).toBe(info(fromSource));
  const x = fixtureInputs(fromSource.inputShape, batch);
  for (const backend of backends) {
    for (const composite of ['epsilon-plus-flat', 'epsilon-gamma-box']) {
      const a = await fromSource.explain(x, { composite, backend, batch, threads: 1 });
      const b = await fromPrepared.explain(x, { composite, backend, batch, threads: 1 });
      expect(bytesOf(b.relevance).equals(bytesOf(a.relevance)), `${backend} ${composite} relevance`).toBe(true);
      expect(bytesOf(b.logits).equals(bytesOf(a.logits)), `${backend} ${composite} logits`).toBe(true);
    }
  }
}

const CASES: { name: string; file: () => Promise<string> | string; options?: LoadOptions }[] = [
  { name: 'ONNX with external data', file: () => join(FIXTURES, 'onnx/vgg_bn.onnx') },
  { name: 'ONNX with a free input size', file: () => join(FIXTURES, 'onnx/dynamic_hw.onnx'), options: { inputSize: [20, 28] } },
  { name: 'ONNX, a grouped and depthwise network', file: () => join(FIXTURES, 'architectures/mobilenet_v2.onnx') },
  { name: 'a Keras layers model', file: () => kerasModelDir('keras') },
  { name: 'a TF.js graph model, float16-quantized', file: () => graphModelDir('graph') },
  { name: 'a torch.save state dict (float16)', file: () => join(FIXTURES, 'torch/mobilenet_v2.f16.pth'), options: { arch: 'mobilenet_v2', inputSize: 64 } },
  { name: 'a safetensors state dict (bfloat16)', file: () => join(FIXTURES, 'torch/mobilenet_v2.bf16.safetensors'), options: { arch: 'mobilenet_v2', inputSize: 64 } },
  { name: 'a Paddle state dict', file: () => join(FIXTURES, 'torch/mobilenet_v2.f16.pdparams'), options: { arch: 'mobilenet_v2', inputSize: 64 } },
];

describe('a prepared model is the model its source gives, bit for bit', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const file = await c.file();
      const options = { ...c.options, cacheDir: mkdtempSync(join(root, 'cache-')) };
      const fromSource = await loadModel(file, options);
      expect(fromSource.info.prepared, 'a model file is not prepared unless asked').toBeUndefined();
      const made = await prepareModel(file, options);
      expect(made.info.prepared).toMatch(/\.relprop$/);
      const fromPrepared = await loadModel(file, options);
      expect(fromPrepared.info.prepared).toBe(made.info.prepared);
      await expectSameModel(fromSource, fromPrepared);
    });
  }

  it('the default model is prepared at its first load, and read from that after', async () => {
    const made = await prepareModel(DEFAULT_MODEL);
    const again = await loadModel(DEFAULT_MODEL);
    expect(again.info.prepared).toBe(made.info.prepared);
    await expectSameModel(made, again, ['wasm'], 1);
  }, 120_000);
});

describe('a prepared model is used only while it is still its source', () => {
  it('a touched source is hashed and still matches; a changed one, or another build, is imported again', async () => {
    const file = await kerasModelDir('stale');
    const shard = join(file, '../group1-shard1of1.bin');
    const options = { cacheDir: mkdtempSync(join(root, 'cache-')) };
    const made = await prepareModel(file, options);
    const where = made.info.prepared!;
    utimesSync(shard, new Date(2030, 0, 1), new Date(2030, 0, 1));
    expect((await loadModel(file, options)).info.prepared).toBe(where);
    // The same size, another value: the prepared form no longer describes it.
    const bytes = readFileSync(shard);
    new DataView(bytes.buffer, bytes.byteOffset).setFloat32(0, 0.5, true);
    writeFileSync(shard, bytes);
    const changed = await loadModel(file, options);
    expect(changed.info.prepared).toBeUndefined();
    expect(fields(changed)).not.toBe(fields(made));
    // Made by another build: its importers could make another graph.
    const remade = await prepareModel(file, options);
    expect(fields(remade)).toBe(fields(changed));
    const other = decodePrepared(new Uint8Array(readFileSync(where)), 'x');
    writeFileSync(where, encodePrepared(other.graph, other.header.info, { ...other.header.source, relprop: 'another build' }));
    expect((await loadModel(file, options)).info.prepared).toBeUndefined();
  });

  it('another input size is another prepared model; a damaged one in the cache only costs the import', async () => {
    const file = join(FIXTURES, 'onnx/dynamic_hw.onnx');
    const cacheDir = mkdtempSync(join(root, 'cache-'));
    const a = await prepareModel(file, { cacheDir, inputSize: 24 });
    const b = await prepareModel(file, { cacheDir, inputSize: 32 });
    expect(a.info.prepared).not.toBe(b.info.prepared);
    expect((await loadModel(file, { cacheDir, inputSize: 24 })).inputShape).toEqual([3, 24, 24]);
    expect((await loadModel(file, { cacheDir, inputSize: 16 })).info.prepared).toBeUndefined();
    const bytes = readFileSync(a.info.prepared!);
    writeFileSync(a.info.prepared!, bytes.subarray(0, bytes.length - 100));
    const fallback = await loadModel(file, { cacheDir, inputSize: 24 });
    expect(fallback.info.prepared).toBeUndefined();
    await expectSameModel(a, fallback);
  });

  it('a model whose file is gone does not load from what was prepared of it', async () => {
    const dir = join(root, 'gone');
    mkdirSync(dir);
    copyFileSync(join(FIXTURES, 'onnx/vgg.onnx'), join(dir, 'vgg.onnx'));
    const options = { cacheDir: mkdtempSync(join(root, 'cache-')) };
    await prepareModel(join(dir, 'vgg.onnx'), options);
    rmSync(join(dir, 'vgg.onnx'));
    await expect(loadModel(join(dir, 'vgg.onnx'), options)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});

describe('damaged prepared files', () => {
  const small = async () => {
    const model = await prepareModel(join(FIXTURES, 'onnx/vgg_bn.onnx'), { cacheDir: mkdtempSync(join(root, 'cache-')) });
    return new Uint8Array(readFileSync(model.info.prepared!));
  };

  it('are refused by name: not one, another version, a cut header, a tensor past the end, a non-finite weight', async () => {
    const bytes = await small();
    const refused = (b: Uint8Array, message: RegExp) => {
      let error: unknown;
      try {
        decodePrepared(b, 'the file');
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(RelpropError);
      expect((error as RelpropError).code).toBe('BAD_MODEL');
      expect((error as Error).message).toMatch(message);
    };
    refused(new TextEncoder().encode('{"format":"layers-model"}'), /not a prepared relprop model/);
    const version = bytes.slice();
    new DataView(version.buffer).setUint32(8, PREPARED_VERSION + 1, true);
    refused(version, new RegExp(`format version ${PREPARED_VERSION + 1}; this relprop reads version ${PREPARED_VERSION}`));
    refused(bytes.subarray(0, 100), /its header says \d+ bytes, 84 follow/);
    refused(bytes.subarray(0, bytes.length - 4), /tensor \d+ \(\d+ values at \d+\) is not inside the file's/);
    const nan = bytes.slice();
    new DataView(nan.buffer).setFloat32(nan.length - 4, NaN, true);
    refused(nan, /tensor \d+ holds a non-finite value \(NaN\) at index \d+/);
  });

  for (const kind of DAMAGES) {
    it(`${kind}: each load ends in a RelpropError or a checked graph`, async () => {
      const bytes = await small();
      await damagedFilesEndCleanly(bytes, kind, (b) => decodePrepared(b, 'the file'));
    });
  }
});
