// relprop's benchmark: `npm run bench` (never part of `npm test`). Batch 1, 224x224, single thread
// (threads: bench/threads.ts).
// For each model: onnxruntime-web (wasm backend, SIMD, one thread) running the same weights, exported by
// exportOnnx, measured in the same run, then our forward and explanations. Medians of several runs;
// ratios are medians of the ratio within each round, since the machines are shared and noisy. Our
// kernels run in their default build, relaxed SIMD (on Node 20 this process turns the V8 flag on, as
// the CLI does); the forward of the plain SIMD build is timed alongside.
import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';
import * as ort from 'onnxruntime-web';
import { exportOnnx, Graph } from '../src/index.js';
import { benchModel } from './models.js';
import { interleaved, median, ratio } from './interleaved.js';
import { macs } from './flops.js';
import { enableRelaxedSimd } from '../src/cli/relaxed-simd.js';
import { defaultKernelBuild } from '../src/wasm/load.js';

enableRelaxedSimd();

ort.env.wasm.numThreads = 1;
ort.env.wasm.simd = true;

const ARCHS = (process.env.BENCH_ARCHS ?? 'resnet50-imagenet,resnet50,keras-resnet50,resnet18,vgg16,mobilenet_v2').split(',');
const RUNS = Number(process.env.BENCH_RUNS ?? 5);

const rows: string[] = [];
console.log(`machine: ${cpus()[0].model}, ${cpus().length} cores; node ${process.version}; onnxruntime-web ${ort.env.versions.web ?? ''}; relprop kernels: ${defaultKernelBuild()}`);
for (const arch of ARCHS) {
  const model = await benchModel(arch);
  const x = Float32Array.from({ length: 3 * 224 * 224 }, (_, i) => Math.sin(i * 0.001) * 2);
  // Up to the logits (a final Softmax left out), so outputs compare on unsaturated values.
  const logitsGraph = new Graph(model.graph.input, model.graph.nodes.filter((n) => n.op !== 'Softmax'));
  const session = await ort.InferenceSession.create(exportOnnx(logitsGraph), { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
  const feeds = { [model.graph.input.name]: new ort.Tensor('float32', x, [1, 3, 224, 224]) };
  // Interleaved (peer, forward, explanations, peer, ...), so a busy moment of the shared machine hits
  // every measurement alike instead of one of them.
  const times = await interleaved(RUNS, [
    () => session.run(feeds),
    () => model.forward(x, { threads: 1 }),
    () => model.forward(x, { kernels: 'simd', threads: 1 }),
    () => model.explain(x, { composite: 'epsilon-plus-flat', threads: 1 }),
    () => model.explain(x, { composite: 'epsilon-gamma-box', threads: 1 }),
  ]);
  const [ortMs, fwdMs, simdMs, flatMs, boxMs] = times.map(median);
  const [ortT, fwdT, simdT, flatT, boxT] = times;
  // Same weights, same input: the peer's output and ours must agree for the timing to mean anything.
  const theirs = (await session.run(feeds))[logitsGraph.output].data as Float32Array;
  const ours = await model.forward(x);
  const scale = Math.max(...Array.from(theirs, Math.abs));
  const diff = Math.max(...Array.from(ours, (v, i) => Math.abs(v - theirs[i]))) / scale;
  const gflop = (2 * macs(model.graph)) / 1e9;
  await session.release();
  model.dispose();
  const mem = JSON.parse(execFileSync(process.execPath, [...process.execArgv, 'bench/memory.ts', arch], { encoding: 'utf8' }).trim().split('\n').pop()!);
  const memRatio = mem.peakRss / (mem.weights + mem.activations);
  const row = [
    arch,
    ortMs.toFixed(0),
    fwdMs.toFixed(0),
    ratio(fwdT, ortT).toFixed(2),
    (gflop / (fwdMs / 1000)).toFixed(1),
    `${simdMs.toFixed(0)} (${ratio(simdT, ortT).toFixed(2)})`,
    flatMs.toFixed(0),
    ratio(flatT, fwdT).toFixed(2),
    boxMs.toFixed(0),
    ratio(boxT, fwdT).toFixed(2),
    `${(mem.peakRss / 2 ** 20).toFixed(0)} MiB (${memRatio.toFixed(2)}x)`,
    diff.toExponential(1),
  ];
  rows.push(`| ${row.join(' | ')} |`);
  console.log(rows.at(-1));
}
console.log(
  [
    '',
    '| model | onnxruntime-web fwd ms | relprop fwd ms | fwd ratio | GFLOP/s | plain-SIMD build fwd ms (ratio) | explain eps-plus-flat ms | / fwd | explain eps-gamma-box ms | / fwd | peak RSS of an explanation (x weights+activations) | output diff vs ORT |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n'),
);
