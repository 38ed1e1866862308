// Does `--batch` pay? `relprop explain` over a folder of 16 photos (the four examples, four copies each;
// each run writes into a fresh folder so nothing resumes) with --batch 1, 4 and 8 on 1 and 2 threads,
// taking turns within each round (the order rotates), so a busy spell of the shared machine hits all
// alike. Per configuration: the median wall time, the median explanation time (the summary's per-batch
// times, each batch counted once), the median within-round ratio of both to --batch 1 on the same
// threads, and the largest peak RSS (GNU time's %M).
// `node --import tsx bench/batch.ts [rounds]`; needs `npm run build` and the default model cached.
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { IMAGES, photoFolder } from './photos.js';

const rounds = Number(process.argv[2] ?? 5);
const { root, photos } = photoFolder('relprop-batch-');

interface Config { threads: number; batch: number }
interface Run { wall: number; explain: number; rss: number }
const configs: Config[] = [1, 2].flatMap((threads) => [1, 4, 8].map((batch) => ({ threads, batch })));
const label = (c: Config) => `--threads ${c.threads} --batch ${c.batch}`;

function run(c: Config): Run {
  const out = join(root, 'out');
  rmSync(out, { recursive: true, force: true });
  const args = ['-f', '%M', process.execPath, 'dist/bin/relprop.js', 'explain', photos, '--out', out, '--json', '--threads', String(c.threads), '--batch', String(c.batch)];
  const t0 = performance.now();
  const r = spawnSync('/usr/bin/time', args, { encoding: 'utf8', maxBuffer: 1 << 26 });
  const wall = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${label(c)} exited ${r.status}: ${r.stderr}`);
  const summary = JSON.parse(r.stdout);
  if (summary.explained !== IMAGES) throw new Error(`${label(c)}: explained ${summary.explained} of ${IMAGES}`);
  // Each image carries its batch's time; images of one batch are consecutive.
  let explain = 0;
  summary.images.forEach((img: { batch: { images: number; explainMilliseconds: number } }, i: number) => {
    if (i % c.batch === 0) explain += img.batch.explainMilliseconds;
  });
  const rss = Number(r.stderr.trim().split('\n').pop()) * 1024; // GNU time's %M: KiB
  return { wall, explain, rss };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const runs = new Map<Config, Run[]>(configs.map((c) => [c, []]));
run(configs[0]); // warms the file cache; not counted
for (let round = 0; round < rounds; round++) {
  for (let k = 0; k < configs.length; k++) {
    const c = configs[(k + round) % configs.length];
    runs.get(c)!.push(run(c));
  }
  process.stderr.write(`round ${round + 1}/${rounds} done\n`);
}

console.log(`machine: ${cpus()[0].model}, ${cpus().length} cores; node ${process.version}; ${rounds} rounds; ${IMAGES} photos, default model and composite`);
console.log('| threads | batch | wall s | / batch 1 | explain s | / batch 1 | peak RSS MiB |');
console.log('| --- | --- | --- | --- | --- | --- | --- |');
for (const c of configs) {
  const mine = runs.get(c)!;
  const base = runs.get(configs.find((b) => b.threads === c.threads && b.batch === 1)!)!;
  const ratio = (f: (r: Run) => number) => median(mine.map((r, i) => f(r) / f(base[i]))).toFixed(2);
  const s = (ms: number) => (ms / 1000).toFixed(2);
  console.log(`| ${c.threads} | ${c.batch} | ${s(median(mine.map((r) => r.wall)))} | ${ratio((r) => r.wall)} | ${s(median(mine.map((r) => r.explain)))} | ${ratio((r) => r.explain)} | ${(Math.max(...mine.map((r) => r.rss)) / 2 ** 20).toFixed(0)} |`);
}
rmSync(root, { recursive: true, force: true });
