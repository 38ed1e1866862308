// Bit-for-bit guard for refactors: explains every architecture (small, seeded), every ONNX fixture and
// the state-dict fixtures with every composite on both engines (the wasm engine at batch 1 and 2, on 1
// and 2 threads), plus each model's logits and input gradient, and prints the SHA-256 of every result's
// bytes as JSON. Run it before and after a change and compare:
//   node --import tsx scripts/relevance-hashes.ts > before.json        (on the old commit)
//   node --import tsx scripts/relevance-hashes.ts --against before.json (on the new one; exit 1 on any
//   difference, listing them)
// A change that must keep results bit for bit (issue 27) shows no difference.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ARCHITECTURES, buildModel, COMPOSITES, loadModel, type Model } from '../src/index.js';

const ROOT = join(import.meta.dirname, '..');
const FIXTURES = join(ROOT, 'spec/fixtures');

/** Deterministic inputs in [-2, 2) (a 32-bit LCG), so the script depends on nothing random. */
function input(n: number, seed: number): Float32Array {
  const x = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    x[i] = (s / 2 ** 32) * 4 - 2;
  }
  return x;
}

const hash = (a: Float32Array | Int32Array | number[]) =>
  createHash('sha256').update(Array.isArray(a) ? JSON.stringify(a) : new Uint8Array(a.buffer, a.byteOffset, a.byteLength)).digest('hex').slice(0, 16);

function* files(dir: string, test: (f: string) => boolean): Generator<string> {
  for (const f of readdirSync(dir).sort()) {
    const p = join(dir, f);
    if (f === 'hostile') continue;
    if (statSync(p).isDirectory()) yield* files(p, test);
    else if (test(f)) yield p;
  }
}

async function hashesOf(model: Model, out: Record<string, string>, name: string) {
  const [c, h, w] = model.inputShape;
  const one = input(c * h * w, 7);
  const two = input(2 * c * h * w, 11);
  out[`${name} logits wasm`] = hash(await model.forward(one));
  out[`${name} logits reference`] = hash(await model.forward(one, { backend: 'reference' }));
  out[`${name} gradient wasm`] = hash((await model.gradient(one)).gradient);
  for (const { name: composite } of COMPOSITES) {
    const key = `${name} ${composite}`;
    try {
      out[`${key} reference`] = hash((await model.explain(one, { composite, backend: 'reference' })).relevance);
      out[`${key} wasm`] = hash((await model.explain(one, { composite, threads: 1 })).relevance);
      out[`${key} wasm 2 threads`] = hash((await model.explain(one, { composite, threads: 2 })).relevance);
      const b = await model.explain(two, { composite, batch: 2, threads: 2 });
      out[`${key} wasm batch 2`] = hash(b.relevance);
      out[`${key} wasm batch 2 targets`] = hash(b.targets as number[]);
    } catch (e) {
      // A composite a model cannot take (say, one needing input bounds it lacks) is recorded as its error.
      out[key] = `error: ${(e as Error).message}`;
    }
  }
}

const out: Record<string, string> = {};
for (const arch of ARCHITECTURES) {
  const model = buildModel(arch, { inputSize: 64, width: 8, hidden: 32, numClasses: 10, seed: 3 });
  await hashesOf(model, out, arch);
  model.dispose();
  process.stderr.write(`${arch}\n`);
}
for (const file of files(FIXTURES, (f) => f.endsWith('.onnx'))) {
  let model: Model;
  try {
    // Fixed inputs as they are; free height and width (dynamic axes) at 64.
    model = await loadModel(file).catch(() => loadModel(file, { inputSize: 64 }));
  } catch (e) {
    out[relative(ROOT, file)] = `error: ${(e as Error).message}`;
    continue;
  }
  await hashesOf(model, out, relative(ROOT, file));
  model.dispose();
  process.stderr.write(`${relative(ROOT, file)}\n`);
}
const STATE_DICTS: Record<string, string> = { 'resnet18.pth': 'resnet18', 'vgg11_bn.pdparams': 'vgg11_bn', 'mobilenet_v2.f16.pth': 'mobilenet_v2', 'timm_efficientnet_b0.f16.pth': 'efficientnet_b0' };
for (const [file, arch] of Object.entries(STATE_DICTS)) {
  // VGG's dense layers fix its input size: 224, as its fixture was made.
  const model = await loadModel(join(FIXTURES, 'torch', file), { arch, inputSize: arch.startsWith('vgg') ? 224 : 64 });
  await hashesOf(model, out, file);
  model.dispose();
  process.stderr.write(`${file}\n`);
}

const against = process.argv.indexOf('--against');
if (against < 0) {
  console.log(JSON.stringify(out, null, 1));
} else {
  const before: Record<string, string> = JSON.parse(readFileSync(process.argv[against + 1], 'utf8'));
  const keys = [...new Set([...Object.keys(before), ...Object.keys(out)])];
  const differ = keys.filter((k) => before[k] !== out[k]);
  for (const k of differ) console.log(`differs: ${k}: ${before[k] ?? '(missing)'} -> ${out[k] ?? '(missing)'}`);
  console.log(`${keys.length - differ.length} of ${keys.length} results equal bit for bit`);
  process.exit(differ.length ? 1 : 0);
}
