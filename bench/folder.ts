// A folder run's rate against the explanations' own: `node --import tsx bench/folder.ts [rounds]`. Needs
// `npm run build` and the default model cached. Each round, on 1 and 2 threads in turn: `relprop explain`
// over 16 photos (the four examples, four copies each, into a fresh folder) from start to the last panel
// written, as images per second; and, in this process with the model warm, the rate of model.explain on
// the same photos' inputs at the same threads. The ratio is taken within each round.
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { EXAMPLES, IMAGES, photoFolder } from './photos.js';
import { decodeImage, preprocessImage } from '../src/app/index.js';
import { preprocessingOf } from '../src/app/explain-photo.js';
import { loadModel } from '../src/index.js';
import { DEFAULT_MODEL } from '../src/io/registry/default-model.js';

const rounds = Number(process.argv[2] ?? 3);
const { root, photos } = photoFolder('relprop-folder-');

function cliRate(threads: number): number {
  const out = join(root, 'out');
  rmSync(out, { recursive: true, force: true });
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['dist/bin/relprop.js', 'explain', photos, '--out', out, '--json', '--threads', String(threads)], { encoding: 'utf8', maxBuffer: 1 << 26 });
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`relprop explain exited ${r.status}: ${r.stderr}`);
  if (JSON.parse(r.stdout).explained !== IMAGES) throw new Error('not every photo was explained');
  return IMAGES / seconds;
}

const model = await loadModel(DEFAULT_MODEL);
const inputs = await Promise.all(EXAMPLES.map(async (f) => preprocessImage(await decodeImage(new Uint8Array(readFileSync(join('examples', f)))), preprocessingOf(model)).input));
async function inProcessRate(threads: number): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < IMAGES; i++) await model.explain(inputs[i % inputs.length], { threads });
  return IMAGES / ((performance.now() - t0) / 1000);
}
await inProcessRate(1); // compiles and warms; not counted
await inProcessRate(2);
cliRate(1);

const rows = new Map<number, { cli: number[]; work: number[]; ratio: number[] }>([1, 2].map((t) => [t, { cli: [], work: [], ratio: [] }]));
for (let r = 0; r < rounds; r++) {
  for (const threads of r % 2 ? [2, 1] : [1, 2]) {
    const row = rows.get(threads)!;
    const c = cliRate(threads);
    const w = await inProcessRate(threads);
    row.cli.push(c);
    row.work.push(w);
    row.ratio.push(c / w);
  }
}
rmSync(root, { recursive: true, force: true });
const median = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1];
const range = (v: number[]) => `${median(v).toFixed(2)} (${Math.min(...v).toFixed(2)}-${Math.max(...v).toFixed(2)})`;
console.log(`machine: ${cpus()[0].model}, ${cpus().length} cores; node ${process.version}; ${IMAGES} photos, ${rounds} rounds, median (range)`);
for (const [threads, row] of rows) {
  console.log(`${threads} thread${threads > 1 ? 's' : ''}: relprop explain ${range(row.cli)} images/s; model.explain in-process ${range(row.work)} images/s; ratio ${range(row.ratio)}`);
}
