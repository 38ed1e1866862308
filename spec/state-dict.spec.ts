/**
 * Weights straight from PyTorch (issue 15, first step): safetensors state dicts of torchvision's
 * MobileNetV2 (spec/fixtures/torch/make_fixtures.py; float32, and bfloat16 under DataParallel's
 * "module." prefix) loaded into `buildModel`'s mobilenet_v2 by torchvision's names, width and class
 * count read from the file.
 *
 * Tolerances: logits as spec/architectures.spec.ts (the float64 reference 1e-5 of scale from PyTorch,
 * wasm 2e-5: ReLU6 nets amplify float32 rounding). Against the ONNX export of the same weights: logits
 * 1e-5, epsilon-plus-flat relevance 1e-3 of scale, because the exporter folds BatchNorm in float32 and
 * relprop in float64, and this explanation moves by about 2e-4 of scale under such differences
 * (measured against Zennit on the same model, spec/architectures.spec.ts's notes).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModel } from '../src/index.js';
import { readSafetensors } from '../src/io/torch/safetensors.js';
import { expectClose } from './helpers/compare.js';
import { fixtureInputs as inputs } from './helpers/fixture-inputs.js';

const DIR = join(import.meta.dirname, 'fixtures/torch');
const META = JSON.parse(readFileSync(join(DIR, 'fixtures.json'), 'utf8'));
const FIXTURES: { file: string; arch: string; input: [number, number, number]; batch: number; logits: number[] }[] = META.fixtures;


describe.each(FIXTURES)('$file', (f) => {
  const x = inputs(f.input, f.batch);
  const load = () => loadModel(join(DIR, f.file), { arch: f.arch, inputShape: f.input });

  it('logits equal PyTorch on both engines; width and classes come from the file', async () => {
    const model = await load();
    expect(model.inputShape).toEqual(f.input);
    expect(model.graph.numClasses).toBe(10);
    expect(model.info.preprocessing?.name).toBe('torchvision');
    expectClose(await model.forward(x, { batch: f.batch, backend: 'reference' }), f.logits, 1e-5, 'reference vs PyTorch');
    expectClose(await model.forward(x, { batch: f.batch }), f.logits, 2e-5, 'wasm vs PyTorch');
  });
});

describe('the same weights through safetensors and through ONNX', () => {
  it('give the same logits and relevances', async () => {
    const f = FIXTURES[0];
    const x = inputs(f.input, 1);
    const a = await loadModel(join(DIR, f.file), { arch: f.arch, inputShape: f.input });
    const b = await loadModel(join(DIR, META.onnx));
    expectClose(await a.forward(x, { backend: 'reference' }), await b.forward(x, { backend: 'reference' }), 1e-5, 'logits');
    const ra = await a.explain(x, { composite: 'epsilon-plus-flat', target: 1, backend: 'reference' });
    const rb = await b.explain(x, { composite: 'epsilon-plus-flat', target: 1, backend: 'reference' });
    expectClose(ra.relevance, rb.relevance, 1e-3, 'relevance');
  });
});

describe('state dicts that do not fit, and broken files, are refused clearly', () => {
  const bytes = () => new Uint8Array(readFileSync(join(DIR, FIXTURES[0].file)));
  it('a file for another architecture: one error listing names and shapes, with the family the names suggest', async () => {
    await expect(loadModel(join(DIR, FIXTURES[0].file), { arch: 'resnet18' })).rejects.toThrow(/has no "conv1.weight", which a resnet18 must have; the names look like a torchvision MobileNetV2 \(mobilenet_v2\)/);
    await expect(loadModel(join(DIR, FIXTURES[0].file), { arch: 'efficientnet_b0' })).rejects.toThrow(/does not fit efficientnet_b0:\n  missing \(\d+\): .*\n  (wrongly shaped \(\d+\): .*\n  )?unexpected \(\d+\): .*features\.\d+\.conv\..*\n  the names look like a torchvision MobileNetV2/);
  });
  it('weights-only files need an architecture, and an architecture needs a weights-only file', async () => {
    await expect(loadModel(join(DIR, FIXTURES[0].file))).rejects.toThrow(/holds weights only: pass arch \(a buildModel architecture: resnet18/);
    await expect(loadModel(join(DIR, META.onnx), { arch: 'mobilenet_v2' })).rejects.toThrow(/arch applies to weights-only files/);
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
  it.each(['truncated', 'bit-flipped', 'size-inflated'] as const)('%s files', async (kind) => {
    const fc = (await import('fast-check')).default;
    const { RelpropError } = await import('../src/errors.js');
    const b = bytes();
    await fc.assert(
      fc.asyncProperty(fc.nat(b.length - 1), fc.nat(7), async (at, bit) => {
        let damaged: Uint8Array;
        if (kind === 'truncated') damaged = b.subarray(0, at);
        else {
          damaged = b.slice();
          if (kind === 'bit-flipped') damaged[at] ^= 1 << bit;
          else new DataView(damaged.buffer).setUint32(at - (at % 4), 0xffffff00 + bit, true);
        }
        try {
          const { modelFromStateDict } = await import('../src/io/torch/state-dict.js');
          modelFromStateDict('mobilenet_v2', readSafetensors(damaged), { inputSize: 64, where: 'fuzz' });
        } catch (e) {
          if (!(e instanceof RelpropError)) throw e;
        }
      }),
      { numRuns: 300 },
    );
  });

  it('NaN in a tensor', () => {
    const b = bytes().slice();
    const n = Number(new DataView(b.buffer).getBigUint64(0, true));
    new DataView(b.buffer).setFloat32(8 + n, NaN, true);
    expect(() => readSafetensors(b)).toThrow(/holds a non-finite value \(NaN\) at index 0/);
  });
});

describe('relprop explain --arch A --weights FILE', () => {
  const ROOT = join(import.meta.dirname, '..');
  const relprop = async (...args: string[]) => {
    const { execFile } = await import('node:child_process');
    const { promisify } = await import('node:util');
    try {
      const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), ...args], { cwd: ROOT });
      return { code: 0, out: stdout };
    } catch (e) {
      return { code: (e as { code: number }).code, out: (e as { stderr: string }).stderr };
    }
  };
  it('explains with the file\'s weights, the relevance equal to the library\'s', async () => {
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const out = mkdtempSync(join(tmpdir(), 'relprop-weights-'));
    const r = await relprop('explain', join(ROOT, 'examples/chelsea.png'), '--arch', 'mobilenet_v2', '--weights', join(DIR, FIXTURES[0].file), '--input-size', '64', '--out', out, '--npy', '--json');
    expect(r.code, r.out).toBe(0);
    const json = JSON.parse(r.out);
    const { explainImage } = await import('../src/app/index.js');
    const { decodeNpy } = await import('../src/render/npy.js');
    const mine = await explainImage(await loadModel(join(DIR, FIXTURES[0].file), { arch: 'mobilenet_v2', inputShape: [3, 64, 64] }), join(ROOT, 'examples/chelsea.png'));
    const npy = decodeNpy(new Uint8Array(readFileSync(json.images[0].files.npy)));
    expectClose(npy.data, mine.relevance, 1e-6, '.npy vs the library');
  });
  it('--weights without --arch is a usage error', async () => {
    const r = await relprop('explain', join(ROOT, 'examples/chelsea.png'), '--weights', join(DIR, FIXTURES[0].file));
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/--weights FILE needs --arch/);
  });
});
