// How long a user waits, against the work done: `node --import tsx bench/startup.ts [rounds]`. Needs
// `npm run build` (runs dist/bin/relprop.js as the installed `relprop` does; npx adds npm's own start-up).
// Each round, in turn: the cached `relprop explain examples/chelsea.png` from start to the panel written
// (a fresh output folder each time: a run into the last one's would find its result and skip the work),
// the same work in this process with the model loaded and warm (decode, preprocess, explain, panel,
// written), `relprop info` and `relprop --help`. Rounds alternate so that a slow phase of the machine
// hits every measure alike; the ratio is taken within each round. BENCH_THREADS sets the threads of
// both explanations (default: the CLI's default, the cores).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { explainImage, panelOf } from '../src/app/index.js';
import { DEFAULT_COMPOSITE } from '../src/composites.js';
import { loadModel } from '../src/index.js';
import { DEFAULT_MODEL } from '../src/io/registry/default-model.js';

const rounds = Number(process.argv[2] ?? 5);
const threads = process.env.BENCH_THREADS ? Number(process.env.BENCH_THREADS) : undefined;
const photo = 'examples/chelsea.png';
const out = mkdtempSync(join(tmpdir(), 'relprop-bench-'));
const cli = (args: string[]) => execFileSync(process.execPath, ['dist/bin/relprop.js', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
const timed = async (f: () => unknown): Promise<number> => {
  const t0 = performance.now();
  await f();
  return performance.now() - t0;
};

const explainArgs = ['explain', photo, '--out', out, ...(threads ? ['--threads', String(threads)] : [])];
const cliExplain = () => {
  rmSync(out, { recursive: true, force: true });
  cli(explainArgs);
  if (!readdirSync(out).some((f) => f.startsWith(`chelsea.${DEFAULT_COMPOSITE}.`) && f.endsWith('.png'))) throw new Error(`no panel in ${out}`);
};
const model = await loadModel(DEFAULT_MODEL, threads ? { threads } : {});
const inProcess = async () => {
  const x = await explainImage(model, photo);
  writeFileSync(join(tmpdir(), 'relprop-bench-panel.png'), (await panelOf(x, { modelName: DEFAULT_MODEL })).png);
};
// Not timed: fetches or prepares the model if needed, compiles, and warms the page cache.
cliExplain();
await inProcess();
await inProcess();

const rows = { explain: [] as number[], work: [] as number[], ratio: [] as number[], info: [] as number[], help: [] as number[] };
for (let r = 0; r < rounds; r++) {
  const e = await timed(cliExplain);
  const w = await timed(inProcess);
  rows.explain.push(e);
  rows.work.push(w);
  rows.ratio.push(e / w);
  rows.info.push(await timed(() => cli(['info'])));
  rows.help.push(await timed(() => cli(['--help'])));
}
rmSync(out, { recursive: true, force: true });

const median = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1];
const range = (v: number[], f: (x: number) => string) => `${f(median(v))} (${f(Math.min(...v))}-${f(Math.max(...v))})`;
const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
console.log(`machine: ${cpus()[0].model}, ${cpus().length} cores; node ${process.version}; threads: ${threads ?? 'default'}; ${rounds} rounds, median (range)`);
console.log(`relprop explain ${photo} (cached ${DEFAULT_MODEL}): ${range(rows.explain, s)}`);
console.log(`the same work in-process, warm: ${range(rows.work, s)}`);
console.log(`ratio, within each round: ${range(rows.ratio, (x) => x.toFixed(2))}`);
console.log(`relprop info: ${range(rows.info, s)}`);
console.log(`relprop --help: ${range(rows.help, s)}`);
