// Each pass of an explanation on one thread and on two: `node --import tsx bench/pass-threads.ts
// [MODEL] [COMPOSITE] [ROUNDS]` (default resnet50-imagenet, epsilon-plus-flat, 7). Times every call the
// engine splits across threads (convolutions by shape and direction, passes over activations by
// kernel), the two thread counts taking turns, and prints each pass's median on 1 and 2 threads, its
// speed-up and the milliseconds it loses against 1.9x, the largest losses first; then what ran outside
// these calls. A diagnostic: where a two-thread explanation falls short of the machine's ceiling.
import { enableRelaxedSimd } from '../src/cli/relaxed-simd.js';
import { GEOM, GEOM_BYTES } from '../src/wasm/codes.js';
import type { WasmEngine } from '../src/wasm/engine.js';
import type { ThreadedKernel } from '../src/wasm/threads.js';
import { median } from './interleaved.js';
import { benchModel } from './models.js';

enableRelaxedSimd();
const name = process.argv[2] ?? 'resnet50-imagenet';
const composite = process.argv[3] ?? 'epsilon-plus-flat';
const ROUNDS = Number(process.argv[4] ?? 7);
const IDEAL = 1.9;

const model = await benchModel(name);
const x = Float32Array.from({ length: 3 * 224 * 224 }, (_, i) => Math.sin(i * 0.001) * 2);
await model.explain(x, { composite, threads: 2 });
// The model keeps its engine private; a diagnostic may look inside.
const { engine } = await (model as unknown as { engine(o: object): Promise<{ engine: WasmEngine }> }).engine({ threads: 2 });
const CONVS = ['conv_gemm_forward', 'conv_gemm_transpose', 'conv_winograd'];
function label(kernel: ThreadedKernel, args: number[]): string {
  if (!CONVS.includes(kernel)) return kernel;
  const g = engine.arena.i32(args[0], GEOM_BYTES / 4);
  const direction = kernel === 'conv_winograd' ? (args[8] ? ' transposed' : ' forward') : '';
  return `${kernel}${direction} ${g[GEOM.kh]}x${g[GEOM.kw]}/${g[GEOM.sh]} ${g[GEOM.cin]}->${g[GEOM.cout]} @${g[GEOM.ho]}x${g[GEOM.wo]}`;
}
let spent = new Map<string, number>();
const parallel = engine.parallel.bind(engine);
engine.parallel = (kernel, args, parts) => {
  const t = performance.now();
  parallel(kernel, args, parts);
  const key = label(kernel, args);
  spent.set(key, (spent.get(key) ?? 0) + performance.now() - t);
};
const runs = new Map<number, { total: number[]; byPass: Map<string, number[]> }>([1, 2].map((t) => [t, { total: [], byPass: new Map() }]));
for (let r = 0; r < ROUNDS; r++) {
  for (const threads of r % 2 ? [2, 1] : [1, 2]) {
    spent = new Map();
    const t = performance.now();
    await model.explain(x, { composite, threads });
    const run = runs.get(threads)!;
    run.total.push(performance.now() - t);
    for (const [k, v] of spent) run.byPass.set(k, [...(run.byPass.get(k) ?? []), v]);
  }
}
const [one, two] = [runs.get(1)!, runs.get(2)!];
const rows = [...one.byPass].map(([k, v]) => ({ k, a: median(v), b: median(two.byPass.get(k) ?? [0]) }));
const inCalls = (m: Map<string, number[]>) => [...m.values()].reduce((s, v) => s + median(v), 0);
console.log(`${name}, ${composite}, ${ROUNDS} rounds: explanation ${median(one.total).toFixed(0)} / ${median(two.total).toFixed(0)} ms (${(median(one.total) / median(two.total)).toFixed(2)}x); in split calls ${inCalls(one.byPass).toFixed(0)} / ${inCalls(two.byPass).toFixed(0)} ms; outside them ${(median(one.total) - inCalls(one.byPass)).toFixed(0)} / ${(median(two.total) - inCalls(two.byPass)).toFixed(0)} ms`);
console.log(`| pass | 1 thread ms | 2 threads ms | speed-up | ms lost against ${IDEAL}x |\n| --- | --- | --- | --- | --- |`);
for (const { k, a, b } of rows.sort((p, q) => q.b - q.a / IDEAL - (p.b - p.a / IDEAL))) console.log(`| ${k} | ${a.toFixed(1)} | ${b.toFixed(1)} | ${(a / b).toFixed(2)} | ${(b - a / IDEAL).toFixed(1)} |`);
model.dispose();
