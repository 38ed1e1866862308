// Time per kernel: `node --import tsx bench/kernels.ts [model] [composite]`. Wraps every export of the
// wasm kernels with a timer, then runs forwards and explanations: where an explanation's time goes beyond
// its forward, kernel by kernel (median of BENCH_RUNS runs, default 7). A diagnostic, not a benchmark:
// the wrapper's own cost (about a microsecond a call) is in the numbers.
import { enableRelaxedSimd } from '../src/cli/relaxed-simd.js';
import type { WasmEngine } from '../src/wasm/engine.js';
import { GEOM, GEOM_BYTES } from '../src/wasm/codes.js';
import { benchModel } from './models.js';

enableRelaxedSimd();
const name = process.argv[2] ?? 'resnet50-imagenet';
const composite = process.argv[3] ?? 'epsilon-plus-flat';
const RUNS = Number(process.env.BENCH_RUNS ?? 7);

const model = await benchModel(name);
const x = Float32Array.from({ length: 3 * 224 * 224 }, (_, i) => Math.sin(i * 0.001) * 2);
await model.explain(x, { composite, threads: 1 }); // creates the engine, uploads the weights, compiles
// The model keeps its engine private; a diagnostic may look inside.
const { engine } = await (model as unknown as { engine(o: object): Promise<{ engine: WasmEngine }> }).engine({ threads: 1 });
const kernels = engine.kernels as unknown as Record<string, unknown>;
/** Convolutions are told apart by shape with BENCH_SHAPES=1: kernel, stride, channels, output size. */
const byShape = process.env.BENCH_SHAPES === '1';
function label(key: string, args: unknown[]): string {
  if (!byShape || !['conv_gemm_forward', 'conv_gemm_transpose', 'conv_winograd'].includes(key)) return key;
  const g = engine.arena.i32(args[0] as number, GEOM_BYTES / 4);
  return `${key} ${g[GEOM.kh]}x${g[GEOM.kw]}/${g[GEOM.sh]} ${g[GEOM.cin]}->${g[GEOM.cout]} @${g[GEOM.ho]}x${g[GEOM.wo]}${g[GEOM.tW] ? ' t' + g[GEOM.tW] : ''}`;
}
/**
 * The multiply-adds a call does, as the direct convolution (or matrix product) it computes: the
 * arithmetic an explanation needs against its forward's, whatever the algorithm (Winograd does fewer).
 */
function macsOf(key: string, args: unknown[]): number {
  const n = (i: number) => args[i] as number;
  if (key === 'linear_forward' || key === 'linear_transpose') return n(4) * n(5) * n(6);
  if (!['conv_gemm_forward', 'conv_gemm_transpose', 'conv_winograd', 'depthwise_forward', 'depthwise_transpose'].includes(key)) return 0;
  const g = engine.arena.i32(n(0), GEOM_BYTES / 4);
  const perOutput = key.startsWith('depthwise') ? g[GEOM.kh] * g[GEOM.kw] : g[GEOM.cin] * g[GEOM.kh] * g[GEOM.kw];
  return g[GEOM.batch] * g[GEOM.cout] * g[GEOM.ho] * g[GEOM.wo] * perOutput;
}
let macs = 0;
const spent = new Map<string, { ms: number; calls: number }>();
const timed: Record<string, unknown> = {};
for (const [key, f] of Object.entries(kernels)) {
  if (typeof f !== 'function') {
    timed[key] = f;
    continue;
  }
  timed[key] = (...args: unknown[]) => {
    const t = performance.now();
    const r = (f as (...a: unknown[]) => unknown)(...args);
    macs += macsOf(key, args);
    const e = spent.get(label(key, args)) ?? { ms: 0, calls: 0 };
    e.ms += performance.now() - t;
    e.calls++;
    spent.set(label(key, args), e);
    return r;
  };
}
(engine as unknown as { kernels: unknown }).kernels = timed;

type Profile = { total: number; macs: number; byKernel: Map<string, { ms: number; calls: number }> };
/** Median runs of each task, the tasks taking turns so a busy moment of the machine hits both alike. */
async function profile(tasks: (() => Promise<unknown>)[]): Promise<Profile[]> {
  const runs: Profile[][] = tasks.map(() => []);
  for (let i = 0; i < RUNS; i++) {
    for (const [k, task] of tasks.entries()) {
      spent.clear();
      macs = 0;
      const t = performance.now();
      await task();
      runs[k].push({ total: performance.now() - t, macs, byKernel: new Map(spent) });
    }
  }
  return runs.map((r) => r.sort((a, b) => a.total - b.total)[Math.floor(r.length / 2)]);
}

const [fwd, exp] = await profile([() => model.forward(x, { threads: 1 }), () => model.explain(x, { composite, threads: 1 })]);
const keys = [...new Set([...fwd.byKernel.keys(), ...exp.byKernel.keys()])];
const ms = (p: typeof fwd, k: string) => p.byKernel.get(k)?.ms ?? 0;
keys.sort((a, b) => ms(exp, b) - ms(exp, a));
const sum = (p: typeof fwd) => [...p.byKernel.values()].reduce((s, e) => s + e.ms, 0);
console.log(`${name}, ${composite}, kernels ${engine.build}: forward ${fwd.total.toFixed(1)} ms, explanation ${exp.total.toFixed(1)} ms (${(exp.total / fwd.total).toFixed(2)}x)`);
console.log(`multiply-adds (as direct convolutions): forward ${(fwd.macs / 1e9).toFixed(2)} G, explanation ${(exp.macs / 1e9).toFixed(2)} G (${(exp.macs / fwd.macs).toFixed(2)}x)`);
console.log('| kernel | forward ms (calls) | explanation ms (calls) |\n| --- | --- | --- |');
for (const k of keys) {
  const cell = (p: typeof fwd) => (p.byKernel.has(k) ? `${ms(p, k).toFixed(1)} (${p.byKernel.get(k)!.calls})` : '');
  console.log(`| ${k} | ${cell(fwd)} | ${cell(exp)} |`);
}
console.log(`| (in kernels) | ${sum(fwd).toFixed(1)} | ${sum(exp).toFixed(1)} |`);
console.log(`| (outside) | ${(fwd.total - sum(fwd)).toFixed(1)} | ${(exp.total - sum(exp)).toFixed(1)} |`);
