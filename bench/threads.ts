// Threads: `node --import tsx bench/threads.ts` (BENCH_ARCHS, BENCH_RUNS, BENCH_THREADS=2). For each
// model, in one interleaved run: onnxruntime-web's forward on 1 and on N threads (two sessions of one
// runtime, told apart by intraOpNumThreads), then relprop's forward and its epsilon-plus-flat and
// epsilon-gamma-box explanations on 1 and on N threads, and N one-thread forwards at once on N threads
// (bench/side-threads.ts: the most a speed-up could reach on the machine at that moment). Batch 1,
// 224x224. Medians of per-round ratios, as bench/run.ts (shared, noisy machines).
import { cpus } from 'node:os';
import * as ort from 'onnxruntime-web';
import { exportOnnx, Graph } from '../src/index.js';
import { benchModel } from './models.js';
import { interleaved, median, ratio } from './interleaved.js';
import { enableRelaxedSimd } from '../src/cli/relaxed-simd.js';
import { sideThreads } from './side-threads.js';

enableRelaxedSimd();

const N = Number(process.env.BENCH_THREADS ?? 2);
// The runtime's thread pool is made once, at its first session: N threads, of which a session with
// intraOpNumThreads 1 uses one.
ort.env.wasm.numThreads = N;
ort.env.wasm.simd = true;

const ARCHS = (process.env.BENCH_ARCHS ?? 'resnet50-imagenet,mobilenet_v2').split(',');
const RUNS = Number(process.env.BENCH_RUNS ?? 7);

console.log(`machine: ${cpus()[0].model}, ${cpus().length} cores; node ${process.version}; onnxruntime-web ${ort.env.versions.web ?? ''}; ${N} threads`);
const rows: string[] = [];
for (const arch of ARCHS) {
  const model = await benchModel(arch);
  const x = Float32Array.from({ length: 3 * 224 * 224 }, (_, i) => Math.sin(i * 0.001) * 2);
  const logitsGraph = new Graph(model.graph.input, model.graph.nodes.filter((n) => n.op !== 'Softmax'));
  const onnx = exportOnnx(logitsGraph);
  const session = (threads: number) => ort.InferenceSession.create(onnx, { executionProviders: ['wasm'], graphOptimizationLevel: 'all', intraOpNumThreads: threads });
  const [ort1, ortN] = [await session(1), await session(N)];
  const feeds = { [model.graph.input.name]: new ort.Tensor('float32', x, [1, 3, 224, 224]) };
  const side = await sideThreads(arch, N, model, x);
  const times = await interleaved(RUNS, [
    side.together,
    () => ort1.run(feeds),
    () => ortN.run(feeds),
    () => model.forward(x, { threads: 1 }),
    () => model.forward(x, { threads: N }),
    () => model.explain(x, { composite: 'epsilon-plus-flat', threads: 1 }),
    () => model.explain(x, { composite: 'epsilon-plus-flat', threads: N }),
    () => model.explain(x, { composite: 'epsilon-gamma-box', threads: 1 }),
    () => model.explain(x, { composite: 'epsilon-gamma-box', threads: N }),
  ]);
  const [together, o1, oN, f1, fN, e1, eN, g1, gN] = times;
  await side.end();
  const ms = (t: number[]) => median(t).toFixed(0);
  rows.push(
    `| ${arch} | ${ms(o1)} / ${ms(oN)} (${ratio(o1, oN).toFixed(2)}x) | ${ms(f1)} / ${ms(fN)} (${ratio(f1, fN).toFixed(2)}x) | ${ms(e1)} / ${ms(eN)} (${ratio(e1, eN).toFixed(2)}x) | ${(N * ratio(f1, together)).toFixed(2)}x | ${ratio(eN, oN).toFixed(2)} | ${ms(g1)} / ${ms(gN)} (${ratio(g1, gN).toFixed(2)}x) | ${ratio(g1, f1).toFixed(2)} / ${ratio(gN, fN).toFixed(2)} |`,
  );
  console.log(rows.at(-1));
  await ort1.release();
  await ortN.release();
  model.dispose();
}
console.log(
  [
    '',
    `| model | onnxruntime-web fwd ms, 1 / ${N} threads (speed-up) | relprop fwd ms, 1 / ${N} | explain eps-plus-flat ms, 1 / ${N} | ${N} one-thread fwds at once (throughput) | ${N}-thread explanation / ${N}-thread ORT fwd | explain eps-gamma-box ms, 1 / ${N} | gamma-box / fwd, 1 / ${N} threads |`,
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n'),
);
