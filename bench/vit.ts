// A vision transformer's cost: torchvision's ViT-B/16 at 224 x 224 (random weights, from
// bench/make-vit-b16.py), relprop's forward against onnxruntime-web's and an attnlrp explanation
// against relprop's forward, at 1 and 2 threads, the sides taking turns in each round (interleaved.ts).
// Each thread count in its own process would be fairer for the ratio to 1 thread; within one count the
// sides share the process. `node --import tsx bench/vit.ts [rounds]` (make the model first).
import { readFileSync, existsSync } from 'node:fs';
import { cpus } from 'node:os';
import * as ort from 'onnxruntime-web';
import { enableRelaxedSimd } from '../src/cli/relaxed-simd.js';
import { importOnnx } from '../src/io/onnx/import.js';
import { Model } from '../src/index.js';
import { interleaved, median, ratio } from './interleaved.js';

enableRelaxedSimd();
const file = new URL('../weights/cache/bench/vit_b_16.onnx', import.meta.url).pathname;
if (!existsSync(file)) throw new Error(`no ${file}: run /usr/bin/python3 bench/make-vit-b16.py first`);
const rounds = Number(process.argv[2] ?? 3);
const bytes = new Uint8Array(readFileSync(file));
const model = new Model(importOnnx(bytes));
const x = Float32Array.from({ length: 3 * 224 * 224 }, (_, i) => Math.sin(i * 0.001) * 2);
console.log(`machine: ${cpus()[0].model}, ${cpus().length} cores; node ${process.version}; ${rounds} rounds; ViT-B/16, 224 x 224`);
console.log('| threads | relprop forward s | onnxruntime-web forward s | forward / ORT | attnlrp explanation s | explanation / forward |');
console.log('| --- | --- | --- | --- | --- | --- |');
for (const threads of [1, 2]) {
  ort.env.wasm.numThreads = threads;
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'] });
  const input = new ort.Tensor('float32', x, [1, 3, 224, 224]);
  const [ours, theirs, explained] = await interleaved(rounds, [
    () => model.forward(x, { threads }),
    () => session.run({ [session.inputNames[0]]: input }),
    () => model.explain(x, { composite: 'attnlrp', threads }),
  ]);
  await session.release();
  const s = (v: number[]) => (median(v) / 1000).toFixed(2);
  console.log(`| ${threads} | ${s(ours)} | ${s(theirs)} | ${ratio(ours, theirs).toFixed(2)} | ${s(explained)} | ${ratio(explained, ours).toFixed(2)} |`);
}
model.dispose();
