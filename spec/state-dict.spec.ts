/**
 * Weights straight from the frameworks (issue 15): state dicts made by
 * spec/fixtures/torch/make_fixtures.py — torchvision MobileNetV2 (width 0.25), ResNet-18 and
 * VGG-11-BN (narrowed to a 4-channel stem, module names kept), timm's mobilenetv2 and efficientnet_b0
 * (channel multiplier 0.25, timm's names) — in safetensors (float32, bfloat16 under "module.",
 * float16), torch.save's zip and legacy formats (float32, float16 nested under "state_dict" and
 * "model") and Paddle-style .pdparams (pickled numpy, paddle.vision's names, Linear [in, out]; protocol
 * 4 and 2), loaded into `buildModel`'s architecture with width, classes and hidden sizes from the file.
 *
 * Tolerances: logits as spec/architectures.spec.ts (the float64 reference 1e-5 of scale from PyTorch,
 * wasm 2e-5: ReLU6 nets amplify float32 rounding). The script rounds every weight to a value float16
 * and bfloat16 hold exactly, so the files of one model hold the same numbers in every format: their
 * logits and relevances must be identical, bit for bit. Against the ONNX export of the same weights
 * (preprocessed alike, so z-box has the same bounds): logits 1e-5, relevance 1e-4 of scale, because the
 * exporter folds BatchNorm in float32 and relprop in float64; measured 2e-7 (ResNet, VGG) to 4e-6
 * (MobileNetV2) for epsilon-plus-flat and epsilon-gamma-box.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModel } from '../src/index.js';
import { readSafetensors } from '../src/io/state-dict/safetensors.js';
import { modelFromStateDict } from '../src/io/state-dict/state-dict.js';
import { DAMAGES, damagedFilesEndCleanly } from './helpers/damage.js';
import { expectClose } from './helpers/compare.js';
import { fixtureInputs as inputs } from './helpers/fixture-inputs.js';
import { relprop, ROOT } from './helpers/cli.js';

const DIR = join(import.meta.dirname, 'fixtures/torch');
const META = JSON.parse(readFileSync(join(DIR, 'fixtures.json'), 'utf8'));
interface Group {
  name: string;
  arch: string;
  input: [number, number, number];
  batch: number;
  logits: number[];
  files: { file: string; format: string }[];
  onnx?: string;
}
const GROUPS: Group[] = META.groups;
const FILES = GROUPS.flatMap((g) => g.files.map((f) => ({ ...f, group: g })));
const MOBILENET = GROUPS[0].files[0].file;
const ORIGIN: Record<string, string> = { pdparams: 'paddle' };

describe.each(FILES)('$file ($format)', ({ file, format, group: g }) => {
  it('logits equal PyTorch on both engines; width, classes and origin come from the file', async () => {
    const model = await loadModel(join(DIR, file), { arch: g.arch, inputShape: g.input });
    expect(model.inputShape).toEqual(g.input);
    expect(model.graph.numClasses).toBe(10);
    const origin = g.name.startsWith('timm') ? 'timm' : (ORIGIN[format.split('-')[0]] ?? 'torchvision');
    expect(model.info.origin).toBe(origin);
    expect(model.info.preprocessing?.name).toBe(origin);
    const x = inputs(g.input, g.batch);
    expectClose(await model.forward(x, { batch: g.batch, backend: 'reference' }), g.logits, 1e-5, 'reference vs PyTorch');
    expectClose(await model.forward(x, { batch: g.batch }), g.logits, 2e-5, 'wasm vs PyTorch');
  });
});

describe.each(GROUPS.filter((g) => g.files.length > 1))('$name: every format holds the same weights', (g) => {
  it('identical logits and relevances from each file', async () => {
    const x = inputs(g.input, 1);
    const run = async (file: string) => {
      const m = await loadModel(join(DIR, file), { arch: g.arch, inputShape: g.input, preprocessing: 'torchvision' });
      return { logits: await m.forward(x, { backend: 'reference' }), relevance: (await m.explain(x, { composite: 'epsilon-plus-flat', target: 1, backend: 'reference' })).relevance };
    };
    const first = await run(g.files[0].file);
    for (const f of g.files.slice(1)) {
      const other = await run(f.file);
      expect(other.logits, f.file).toEqual(first.logits);
      expect(other.relevance, f.file).toEqual(first.relevance);
    }
  });
});

describe.each(GROUPS.filter((g) => g.onnx))('$name: the same weights through a state dict and through ONNX', (g) => {
  it.each(['epsilon-plus-flat', 'epsilon-gamma-box'])('give the same logits and %s relevances', async (composite) => {
    const x = inputs(g.input, 1);
    const a = await loadModel(join(DIR, g.files[0].file), { arch: g.arch, inputShape: g.input });
    const b = await loadModel(join(DIR, g.onnx!), { preprocessing: 'torchvision' });
    expectClose(await a.forward(x, { backend: 'reference' }), await b.forward(x, { backend: 'reference' }), 1e-5, 'logits');
    const ra = await a.explain(x, { composite, target: 1, backend: 'reference' });
    const rb = await b.explain(x, { composite, target: 1, backend: 'reference' });
    expectClose(ra.relevance, rb.relevance, 1e-4, 'relevance');
  });
});

describe('state dicts that do not fit, and broken files, are refused clearly', () => {
  const bytes = () => new Uint8Array(readFileSync(join(DIR, MOBILENET)));
  it('a file for another architecture: one error listing names and shapes, with the family the names suggest', async () => {
    await expect(loadModel(join(DIR, MOBILENET), { arch: 'resnet18' })).rejects.toThrow(/has no "conv1.weight", which a resnet18 must have; the names look like a torchvision MobileNetV2 \(mobilenet_v2\)/);
    await expect(loadModel(join(DIR, MOBILENET), { arch: 'efficientnet_b0' })).rejects.toThrow(/does not fit efficientnet_b0:\n  missing \(\d+\): .*\n  (wrongly shaped \(\d+\): .*\n  )?unexpected \(\d+\): .*features\.\d+\.conv\..*\n  the names look like a torchvision MobileNetV2/);
  });
  it('timm and Paddle files for another architecture name their family too', async () => {
    await expect(loadModel(join(DIR, 'timm_efficientnet_b0.f16.pth'), { arch: 'mobilenet_v2' })).rejects.toThrow(/does not fit mobilenet_v2:[^]*\n  the names look like a timm EfficientNet \(efficientnet_b0\)$/);
    await expect(loadModel(join(DIR, 'resnet18.pdparams'), { arch: 'resnet50' })).rejects.toThrow(/does not fit resnet50:\n  missing \(\d+\): layer1\.0\.conv3\.weight \[16, 4, 1, 1\][^]*the names look like a torchvision ResNet with basic blocks/);
  });
  it('weights-only files need an architecture, and an architecture needs a weights-only file', async () => {
    await expect(loadModel(join(DIR, MOBILENET))).rejects.toThrow(/holds weights only: pass arch \(a buildModel architecture: resnet18/);
    await expect(loadModel(join(DIR, GROUPS[0].onnx!), { arch: 'mobilenet_v2' })).rejects.toThrow(/arch applies to weights-only files/);
  });
  it('a header longer than the file, a truncated file, overlapping tensors, a non-JSON header', () => {
    const b = bytes();
    const long = b.slice(0, 100);
    new DataView(long.buffer).setBigUint64(0, 1n << 40n, true);
    expect(() => readSafetensors(long)).toThrow(/declares a 1099511627776-byte header in a 100-byte file/);
    expect(() => readSafetensors(b.subarray(0, b.length - 10))).toThrow(/lie outside the \d+ bytes of data|bytes after the last tensor/);
    const n = Number(new DataView(b.buffer, b.byteOffset).getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(b.subarray(8, 8 + n)));
    const [first, second] = Object.keys(header);
    header[second].data_offsets = header[first].data_offsets;
    header[second].shape = header[first].shape;
    const text = new TextEncoder().encode(JSON.stringify(header).padEnd(n, ' '));
    expect(text.length).toBe(n);
    const overlapping = b.slice();
    overlapping.set(text, 8);
    expect(() => readSafetensors(overlapping)).toThrow(/must not overlap or leave gaps/);
    const garbled = b.slice();
    garbled[9] = 0x7d;
    expect(() => readSafetensors(garbled)).toThrow(/the header is not JSON/);
  });
  // Any damage ends in a RelpropError (or, for a flip inside the data, other numbers), never another
  // exception; 300 runs of each kind.
  it.each(DAMAGES)('%s files', (kind) => damagedFilesEndCleanly(bytes(), kind, (damaged) => modelFromStateDict('mobilenet_v2', readSafetensors(damaged), { inputSize: 64, where: 'fuzz' })));

  it('NaN in a tensor', () => {
    const b = bytes().slice();
    const n = Number(new DataView(b.buffer).getBigUint64(0, true));
    new DataView(b.buffer).setFloat32(8 + n, NaN, true);
    expect(() => readSafetensors(b)).toThrow(/holds a non-finite value \(NaN\) at index 0/);
  });
});

describe('relprop explain --arch A --weights FILE', () => {
  it('explains with the file\'s weights, the relevance equal to the library\'s', async () => {
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const out = mkdtempSync(join(tmpdir(), 'relprop-weights-'));
    const r = await relprop('explain', join(ROOT, 'examples/chelsea.png'), '--arch', 'mobilenet_v2', '--weights', join(DIR, MOBILENET), '--input-size', '64', '--out', out, '--npy', '--json');
    expect(r.code, r.stdout).toBe(0);
    const json = JSON.parse(r.stdout);
    const { explainImage } = await import('../src/app/index.js');
    const { decodeNpy } = await import('../src/render/npy.js');
    const mine = await explainImage(await loadModel(join(DIR, MOBILENET), { arch: 'mobilenet_v2', inputShape: [3, 64, 64] }), join(ROOT, 'examples/chelsea.png'));
    const npy = decodeNpy(new Uint8Array(readFileSync(json.images[0].files.npy)));
    expectClose(npy.data, mine.relevance, 1e-6, '.npy vs the library');
  });
  it('relprop info shows whose layout the weights came in and the preprocessing that follows, which --preprocessing overrides', async () => {
    const r = await relprop('info', '--arch', 'vgg11_bn', '--weights', join(DIR, 'vgg11_bn.pdparams'));
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toMatch(/^model: vgg11_bn\.pdparams \(vgg11_bn\), paddle weights\ninput: \[3,224,224\]  classes: 10/);
    expect(r.stdout).toMatch(/\npreprocessing \(a guess: state dicts do not record how inputs were prepared; paddle's ImageNet transform assumed; --preprocessing sets it\): paddle: resize shorter side to 256, center-crop 224x224, RGB/);
    const o = await relprop('info', '--arch', 'resnet18', '--weights', join(DIR, 'resnet18.legacy.pth'), '--input-size', '64', '--preprocessing', 'keras-tf');
    expect(o.stdout).toMatch(/torchvision weights\n.*\npreprocessing \(--preprocessing\): keras-tf: resize to 64x64, RGB, \(x \* 0\.007843 - \[1,1,1\]\)/);
    const bad = await relprop('info', '--arch', 'resnet18', '--weights', join(DIR, 'resnet18.pth'), '--preprocessing', 'nope');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/no preprocessing preset "nope"; presets: torchvision, timm, paddle, caffe, keras-tf, unit, raw/);
  });
  it('--weights without --arch is a usage error', async () => {
    const r = await relprop('explain', join(ROOT, 'examples/chelsea.png'), '--weights', join(DIR, MOBILENET));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/--weights FILE needs --arch/);
  });
});
