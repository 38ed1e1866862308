// What does a curve cost? The 100-step region-perturbation curve (8 x 8 regions, MoRF, black) of
// one 224 x 224 photo on ResNet-50 against its peer, 100 single forwards one after another
// (model.forward of one image each, as a loop over the steps would run them), at 1 and 2 threads, the
// two taking turns within each round (alternating which goes first). The curve runs as a series, each
// copy computed from the one before (src/wasm/incremental-forward.ts); on 2 threads the series is cut
// in two, each half on a replica (src/model/spread-passes.ts), and the single forwards split each layer.
// `node --import tsx bench/evaluate.ts [rounds]` (needs the default model cached: relprop explain once)
import { cpus } from 'node:os';
import { enableRelaxedSimd } from '../src/cli/relaxed-simd.js';
import { decodeImage } from '../src/image/decode.js';
import { preprocessImage } from '../src/image/preprocess.js';
import { evaluate } from '../src/index.js';
import { preprocessingOf } from '../src/app/explain-photo.js';
import { benchModel } from './models.js';
import { median } from './interleaved.js';

enableRelaxedSimd();
const rounds = Number(process.argv[2] ?? 3);
const model = await benchModel('resnet50-imagenet');
const x = preprocessImage(await decodeImage(new URL('../examples/chelsea.png', import.meta.url).pathname), preprocessingOf(model), 3).input;
const a = await model.attribute(x, { method: 'gradient-x-input', threads: 2 });
const target = a.targets[0];

async function curve(threads: number) {
  const t = performance.now();
  const e = await evaluate(model, x, a.attribution, { metric: 'region-perturbation', steps: 100, target, threads });
  if (e.curves[0].length !== 101) throw new Error('not a 100-step curve');
  return performance.now() - t;
}
async function singles(threads: number) {
  const t = performance.now();
  for (let i = 0; i < 100; i++) await model.forward(x, { threads });
  return performance.now() - t;
}

const times = new Map<number, { curve: number[]; singles: number[] }>();
for (const threads of [1, 2]) {
  await curve(threads); // warm: the engine, and on 2 threads the replicas' start
  await singles(threads);
  times.set(threads, { curve: [], singles: [] });
}
for (let r = 0; r < rounds; r++) {
  for (const threads of [1, 2]) {
    const t = times.get(threads)!;
    if (r % 2 === 0) {
      t.curve.push(await curve(threads));
      t.singles.push(await singles(threads));
    } else {
      t.singles.push(await singles(threads));
      t.curve.push(await curve(threads));
    }
  }
  process.stderr.write(`round ${r + 1}/${rounds}\n`);
}
console.log(`machine: ${cpus()[0].model}, ${cpus().length} cores; node ${process.version}; ${rounds} rounds; ResNet-50, chelsea.png, 100 regions of 8 x 8`);
console.log('| threads | 100-step curve s | 100 single forwards s | ratio (median of rounds; range) |');
console.log('| --- | --- | --- | --- |');
for (const [threads, t] of times) {
  const ratios = t.curve.map((c, i) => c / t.singles[i]);
  console.log(`| ${threads} | ${(median(t.curve) / 1000).toFixed(2)} | ${(median(t.singles) / 1000).toFixed(2)} | ${median(ratios).toFixed(2)} (${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)}) |`);
}
