// Does batching pay for the attribution methods? Each method of model.attribute on ResNet-50 (224 x 224,
// seeded random weights: the cost is the architecture's) against its peer: the same number of forwards
// or gradients (model.forward / model.gradient) run one image at a time. On 1 and 2 threads; within each
// round a method and its peer run back to back, in an order that alternates, so a busy spell of the shared
// machine hits both. Per method: the median time, the peer's, and the median within-round ratio.
// The peer runs what the method runs: the copies' passes, and the forward of the image itself whose
// logits the result reports. Counts are reduced from the defaults to keep a round short (the ratio does not depend on them much):
// integrated gradients 16 steps, SmoothGrad 16 samples, occlusion a 32-pixel window (49 windows), LIME
// 64 samples of a 16-pixel grid (196 segments).
// On 2 threads a method's copies run image-parallel (two replicas of the model on worker threads, this
// thread handing out pieces: src/model/spread-passes.ts); the peer's passes split each layer over the 2 threads. The replicas start
// on the model's first such call: that one-off cost is measured apart, on a fresh model.
// `node --import tsx bench/methods.ts [rounds] [internalBatch]`
import { cpus } from 'node:os';
import { enableRelaxedSimd } from '../src/cli/relaxed-simd.js';
import { buildModel, type Model } from '../src/index.js';

enableRelaxedSimd();

const rounds = Number(process.argv[2] ?? 3);
const internalBatch = Number(process.argv[3] ?? 4);
const model = buildModel('resnet50', { seed: 1 });
const per = 3 * 224 * 224;
const x = Float32Array.from({ length: per }, (_, i) => 2 * Math.sin(i * 0.001) + Math.sin(i * 0.05));
const target = 5;

interface Case { name: string; params: Record<string, unknown>; forwards: number; gradients: number }
const cases: Case[] = [
  { name: 'gradient', params: {}, forwards: 0, gradients: 1 },
  { name: 'integrated-gradients', params: { steps: 16 }, forwards: 1, gradients: 16 },
  { name: 'smoothgrad', params: { samples: 16 }, forwards: 1, gradients: 16 },
  { name: 'grad-cam', params: {}, forwards: 0, gradients: 1 },
  { name: 'occlusion', params: { window: 32 }, forwards: 1 + 49, gradients: 0 },
  { name: 'lime', params: { samples: 64, segments: 'grid' }, forwards: 65, gradients: 0 },
];

async function method(c: Case, threads: number): Promise<number> {
  const t = performance.now();
  await model.attribute(x, { method: c.name, target, threads, internalBatch, ...c.params });
  return performance.now() - t;
}

async function peer(m: Model, c: Case, threads: number): Promise<number> {
  const t = performance.now();
  for (let i = 0; i < c.forwards; i++) await m.forward(x, { threads });
  for (let i = 0; i < c.gradients; i++) await m.gradient(x, { target, threads });
  return performance.now() - t;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const results = new Map<string, { ours: number[]; peer: number[] }>();
await method(cases[0], 1); // warms the engine and its weights; not counted
// The replicas' start: a 2-step integrated gradients (2 images, spread over the 2 threads) first and again.
const start = performance.now();
await model.attribute(x, { method: 'integrated-gradients', steps: 2, threads: 2, target });
const first = performance.now() - start;
const again = performance.now();
await model.attribute(x, { method: 'integrated-gradients', steps: 2, threads: 2, target });
const replicaStart = first - (performance.now() - again);
for (let round = 0; round < rounds; round++) {
  for (const threads of [1, 2]) {
    for (const c of cases) {
      const key = `${threads}|${c.name}`;
      if (!results.has(key)) results.set(key, { ours: [], peer: [] });
      const r = results.get(key)!;
      if (round % 2 === 0) {
        r.ours.push(await method(c, threads));
        r.peer.push(await peer(model, c, threads));
      } else {
        r.peer.push(await peer(model, c, threads));
        r.ours.push(await method(c, threads));
      }
    }
  }
  process.stderr.write(`round ${round + 1}/${rounds} done\n`);
}

console.log(`machine: ${cpus()[0].model}, ${cpus().length} cores; node ${process.version}; ${rounds} rounds; ResNet-50 224x224; internalBatch ${internalBatch}`);
console.log(`replicas' start (once per model, on its first image-parallel call): ${(replicaStart / 1000).toFixed(2)} s`);
console.log('| threads | method | passes | attribute s | one by one s | ratio |');
console.log('| --- | --- | --- | --- | --- | --- |');
for (const [key, r] of results) {
  const [threads, name] = key.split('|');
  const c = cases.find((k) => k.name === name)!;
  const passes = [c.forwards ? `${c.forwards} forwards` : '', c.gradients ? `${c.gradients} gradients` : ''].filter(Boolean).join(', ');
  const s = (ms: number) => (ms / 1000).toFixed(2);
  console.log(`| ${threads} | ${name} | ${passes} | ${s(median(r.ours))} | ${s(median(r.peer))} | ${median(r.ours.map((o, i) => o / r.peer[i])).toFixed(2)} |`);
}
