/**
 * Models users bring (issue 26, items 3-5): an ONNX model with free height and width explained with
 * --input-size; labels from a file (three formats) and ImageNet's for an unlabelled 1000-class head;
 * a 1-channel model fed the luminance; a one-output head read as a sigmoid probability; a guessed
 * preprocessing said to be one. Through the CLI as a user runs it, checked against the library.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { explainImage } from '../src/app/explain-image.js';
import { readLabelsFile } from '../src/cli/resolve-model.js';
import { decodeImage } from '../src/image/decode.js';
import { preprocessImage } from '../src/image/preprocess.js';
import { buildModel, exportOnnx, loadModel, Model } from '../src/index.js';
import { importOnnx } from '../src/io/onnx/import.js';
import { IMAGENET_LABELS } from '../src/model/imagenet-labels.js';
import { decodeNpy } from '../src/render/npy.js';
import { expectClose } from './helpers/compare.js';
import { relprop, ROOT } from './helpers/cli.js';

const CHELSEA = join(ROOT, 'examples/chelsea.png');
const DYNAMIC = join(ROOT, 'spec/fixtures/onnx/dynamic_hw.onnx');
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'relprop-models-'));
  writeFileSync(join(dir, 'gray.onnx'), exportOnnx(buildModel('resnet18', { inputSize: 32, width: 4, inChannels: 1, numClasses: 3, seed: 3 })));
  writeFileSync(join(dir, 'binary.onnx'), exportOnnx(buildModel('resnet18', { inputSize: 32, width: 4, numClasses: 1, seed: 5 })));
});

describe('a model with free height and width (dynamic_hw.onnx, exported by spec/fixtures/onnx/make_fixtures.py)', () => {
  it('without --input-size: a clear error naming the flag; with it: explained at that size, equal to the library', async () => {
    const bare = await relprop('explain', CHELSEA, '--model', DYNAMIC, '--out', mkdtempSync(join(tmpdir(), 'relprop-out-')));
    expect(bare.code).toBe(1);
    expect(bare.stderr).toMatch(/relprop: error: ONNX input ".*": the input \[3, \?, \?\] \(C, H, W\) leaves its height and width free: give them \(inputSize \[H, W\]; on the command line --input-size HxW\)/);
    const out = mkdtempSync(join(tmpdir(), 'relprop-out-'));
    const r = await relprop('explain', CHELSEA, '--model', DYNAMIC, '--input-size', '40x56', '--out', out, '--npy', '--json');
    expect(r.code, r.stderr).toBe(0);
    // ONNX files do not say how inputs were prepared: relprop says it guessed, once.
    expect(r.stderr.match(/relprop: note: preprocessing "torchvision" is a guess \(ONNX files do not record/g)).toHaveLength(1);
    const j = JSON.parse(r.stdout);
    expect(j.model.input).toEqual([3, 40, 56]);
    const npy = decodeNpy(new Uint8Array(readFileSync(j.images[0].files.npy)));
    expect(npy.shape).toEqual([1, 3, 40, 56]);
    const mine = await explainImage(await loadModel(DYNAMIC, { inputSize: [40, 56] }), CHELSEA);
    expectClose(npy.data, mine.relevance, 1e-6, '.npy vs the library');
    const info = await relprop('info', DYNAMIC, '--input-size', '33x47');
    expect(info.stdout).toMatch(/input: \[3,33,47\]/);
    expect(info.stdout).toMatch(/preprocessing \(a guess: ONNX files do not record how their inputs were prepared; torchvision assumed; --preprocessing sets it\): torchvision: resize shorter side to 38, center-crop 33x47/);
  });

  it('inputSize and inputShape agree; a size against a fixed input is refused', async () => {
    const a = await loadModel(DYNAMIC, { inputSize: [33, 47] });
    const b = await loadModel(DYNAMIC, { inputShape: [3, 33, 47] });
    const x = Float32Array.from({ length: 3 * 33 * 47 }, (_, i) => Math.sin(i));
    expect(await a.forward(x)).toEqual(await b.forward(x));
    const fixed = exportOnnx(buildModel('resnet18', { inputSize: 32, width: 4, numClasses: 3 }));
    await expect(loadModel(fixed, { inputSize: 64 })).rejects.toThrow(/the input is fixed at \[3, 32, 32\] \(C, H, W\); an input size of 64x64 disagrees/);
    expect((await loadModel(fixed, { inputSize: 32 })).inputShape).toEqual([3, 32, 32]);
  });
});

describe('labels', () => {
  it('--labels reads a JSON list, a JSON index -> label object (Keras\'s too) and one label a line', () => {
    const files: [string, string][] = [
      ['list.json', '["cat", "dog", "owl"]'],
      ['keras.json', '{"0": ["n1", "cat"], "1": ["n2", "dog"], "2": ["n3", "owl"]}'],
      ['object.json', '{"2": "owl", "0": "cat", "1": "dog"}'],
      ['lines.txt', 'cat\r\ndog\nowl\n\n'],
    ];
    for (const [name, text] of files) {
      writeFileSync(join(dir, name), text);
      expect(readLabelsFile(join(dir, name)).labels, name).toEqual(['cat', 'dog', 'owl']);
    }
    writeFileSync(join(dir, 'holes.txt'), 'cat\n\nowl\n');
    expect(() => readLabelsFile(join(dir, 'holes.txt'))).toThrow(/one label a line, with no empty lines \(line 2 is empty\)/);
    writeFileSync(join(dir, 'gap.json'), '{"0": "cat", "2": "owl"}');
    expect(() => readLabelsFile(join(dir, 'gap.json'))).toThrow(/entry "2" is not index -> label/);
  });

  it('the classes a run prints come from --labels; ImageNet\'s labels are the default model\'s', async () => {
    const r = await relprop('explain', CHELSEA, '--model', join(dir, 'gray.onnx'), '--labels', join(dir, 'lines.txt'), '--topk', '3', '--out', mkdtempSync(join(tmpdir(), 'relprop-out-')));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.match(/^ {3}\d\. (\w+) /gm)?.map((l) => l.trim().split(' ')[1]).sort()).toEqual(['cat', 'dog', 'owl']);
    expect((await loadModel('resnet50-imagenet')).info.labels).toEqual(IMAGENET_LABELS);
  });
});

describe('a 1-channel model', () => {
  it('is fed the photo\'s luminance, says so, and writes a (1, 1, H, W) .npy equal to the library on that input', async () => {
    const out = mkdtempSync(join(tmpdir(), 'relprop-out-'));
    const r = await relprop('explain', CHELSEA, '--model', join(dir, 'gray.onnx'), '--out', out, '--npy', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/relprop: note: the model takes 1-channel input: photos are fed their luminance/);
    // A 1-channel guess is [0, 1] pixels, not ImageNet's colour statistics.
    expect(r.stderr).toMatch(/preprocessing "unit" is a guess/);
    const j = JSON.parse(r.stdout);
    const npy = decodeNpy(new Uint8Array(readFileSync(j.images[0].files.npy)));
    expect(npy.shape).toEqual([1, 1, 32, 32]);
    // Independently: the luminance by hand from the stretched photo, explained by the model itself.
    const model = await loadModel(join(dir, 'gray.onnx'));
    const prepared = preprocessImage(await decodeImage(CHELSEA), model.info.preprocessing!);
    const lum = Float32Array.from({ length: 32 * 32 }, (_, i) => (0.299 * prepared.rgb[i * 3] + 0.587 * prepared.rgb[i * 3 + 1] + 0.114 * prepared.rgb[i * 3 + 2]) / 255);
    const e = await model.explain(lum);
    expectClose(npy.data, e.relevance, 1e-6, '.npy vs explain on the luminance');
  });
});

describe('a one-output head', () => {
  it('is a sigmoid probability (not a softmax over one value, which is 1.0 for every photo), named as such', async () => {
    const r = await relprop('explain', CHELSEA, '--model', join(dir, 'binary.onnx'), '--out', mkdtempSync(join(tmpdir(), 'relprop-out-')), '--json');
    expect(r.code, r.stderr).toBe(0);
    const top = JSON.parse(r.stdout).images[0].top;
    expect(top).toHaveLength(1);
    expect(top[0].probability).toBeCloseTo(1 / (1 + Math.exp(-top[0].logit)), 12);
    expect(top[0].probability).toBeLessThan(0.9999);
    const info = await relprop('info', join(dir, 'binary.onnx'));
    expect(info.stdout).toMatch(/classes: 1; one output read as sigmoid probability/);
    expect(info.stdout).toMatch(/\(1 logit, sigmoid probabilities\)/);
    const model = await loadModel(join(dir, 'binary.onnx'));
    const x = new Float32Array(3 * 32 * 32).fill(0.5);
    const [logit] = await model.forward(x);
    expect((await model.predict(x))[0]).toBeCloseTo(1 / (1 + Math.exp(-logit)), 6);
  });
});

describe('a vision transformer (spec/fixtures/vit/vit.onnx)', () => {
  const VIT = join(ROOT, 'spec/fixtures/vit/vit.onnx');
  it('is explained with cp-lrp unless told (its file names say so), equal to the library; info shows its rules under cp-lrp', async () => {
    const out = mkdtempSync(join(tmpdir(), 'relprop-out-'));
    const r = await relprop('explain', CHELSEA, '--model', VIT, '--out', out, '--npy', '--json');
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.images[0].files.npy).toMatch(/chelsea\.cp-lrp\.[0-9a-f]+\.npy$/);
    const npy = decodeNpy(new Uint8Array(readFileSync(j.images[0].files.npy)));
    const mine = await explainImage(await loadModel(VIT), CHELSEA, { composite: 'cp-lrp' });
    expectClose(npy.data, mine.relevance, 1e-6, '.npy vs the library');
    const info = await relprop('info', VIT);
    expect(info.code, info.stderr).toBe(0);
    expect(info.stdout).toMatch(/layers as explained under cp-lrp/);
    expect(info.stdout).toMatch(/MatMul_2_output_0 +MatMul .* held-first\(1e-9\)/);
    const named = await relprop('info', VIT, '--composite', 'attnlrp');
    expect(named.stdout).toMatch(/layers as explained under attnlrp/);
    expect(named.stdout).toMatch(/Softmax_output_0 +Softmax .* softmax/);
  });

  it('grad-cam is refused on a transformer with the reason; a head of zero weights (torchvision\'s init) is named as the cause of a blank map', async () => {
    const cam = await relprop('explain', CHELSEA, '--model', VIT, '--method', 'grad-cam', '--out', mkdtempSync(join(tmpdir(), 'relprop-out-')));
    expect(cam.code).toBe(1);
    expect(cam.stderr).toMatch(/grad-cam: this model is a transformer: its tokens are no map/);
    const graph = importOnnx(new Uint8Array(readFileSync(VIT)));
    const head = graph.nodes.find((n) => n.op === 'Linear' && graph.consumers.get(n.name)?.some((c) => c.name.endsWith(':logits'))) as { weight: Float32Array; bias: Float32Array | null };
    head.weight.fill(0);
    head.bias?.fill(0);
    const zero = join(dir, 'vit_zero_head.onnx');
    writeFileSync(zero, exportOnnx(new Model(graph)));
    const r = await relprop('explain', CHELSEA, '--model', zero, '--out', mkdtempSync(join(tmpdir(), 'relprop-out-')));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/relprop: note: .*chelsea\.png: the relevance is 0 everywhere: .*\(an untrained head with zero weights does this\)/);
  });

  it("evaluate's default methods are a transformer's own; plain lrp there is cp-lrp", async () => {
    const r = await relprop('evaluate', CHELSEA, '--model', VIT, '--steps', '3', '--out', mkdtempSync(join(tmpdir(), 'relprop-eval-')), '--json');
    expect(r.code, r.stderr).toBe(0);
    const rows = JSON.parse(r.stdout).rows as { method: string; AOPC: number }[];
    expect(rows.map((row) => row.method)).toEqual(['lrp:cp-lrp', 'lrp:attnlrp', 'gradient', 'gradient-x-input']);
    const plain = await relprop('evaluate', CHELSEA, '--model', VIT, '--steps', '3', '--methods', 'lrp', '--out', mkdtempSync(join(tmpdir(), 'relprop-eval-')), '--json');
    expect(JSON.parse(plain.stdout).rows[0].AOPC).toBe(rows[0].AOPC);
  });
});
