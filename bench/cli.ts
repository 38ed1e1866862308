// Time from `npx relprop explain examples/chelsea.png` to the panel written, the model already cached:
// `node --import tsx bench/cli.ts [runs]`. Needs `npm run build` (npx runs dist/cli/main.js). Each run
// writes into a fresh folder: a run into the last one's would find its result and skip the work.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_COMPOSITE } from '../src/composites.js';

const runs = Number(process.argv[2] ?? 5);
const out = mkdtempSync(join(tmpdir(), 'relprop-bench-'));
const run = () => {
  rmSync(out, { recursive: true, force: true });
  execFileSync('npx', ['relprop', 'explain', 'examples/chelsea.png', '--out', out], { stdio: ['ignore', 'pipe', 'inherit'] });
};
run(); // fetches the model if it is not cached yet; not timed
const times: number[] = [];
for (let i = 0; i < runs; i++) {
  const t0 = performance.now();
  run();
  times.push(performance.now() - t0);
  if (!readdirSync(out).some((f) => f.startsWith(`chelsea.${DEFAULT_COMPOSITE}.`) && f.endsWith('.png'))) throw new Error(`no panel in ${out}`);
}
rmSync(out, { recursive: true, force: true });
times.sort((a, b) => a - b);
console.log(`machine: ${cpus()[0].model}, ${cpus().length} cores; node ${process.version}`);
console.log(`npx relprop explain examples/chelsea.png: median ${(times[times.length >> 1] / 1000).toFixed(2)} s over ${runs} runs (min ${(times[0] / 1000).toFixed(2)} s, max ${(times[times.length - 1] / 1000).toFixed(2)} s)`);
