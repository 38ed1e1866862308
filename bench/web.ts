// The demo page: `node --import tsx bench/web.ts` (after `npm run build`; BENCH_RUNS, default 3). Sizes
// of dist/web's files (raw and gzip, what a static host sends), then, in Debian's Chromium against
// `relprop demo`, each run in a fresh browser (nothing cached: the model comes over localhost):
//  - the time the browser takes to fetch the bytes the page needs (its files, the model's manifest and
//    prepared form), on a blank page of the same origin;
//  - a first visit: from navigation to the model being ready, and to the first heatmap of
//    examples/chelsea.png (clicked as soon as the model is ready);
//  - one explanation on the warm page (examples/coffee.png clicked, to its first heatmap);
//  - a second visit (reloaded, the service worker's cache in place): navigation to the first heatmap.
// Ratios: model ready / fetch, second visit / one warm explanation.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';
import { median } from './interleaved.js';
import { DEFAULT_MODEL, PREPARED_NAME, servedModelPath } from '../src/io/registry/default-model.js';

const ROOT = join(import.meta.dirname, '..');
const WEB = join(ROOT, 'dist/web');
const RUNS = Number(process.env.BENCH_RUNS ?? 3);

let raw = 0;
let gz = 0;
for (const f of readdirSync(WEB)) {
  if (statSync(join(WEB, f)).isDirectory()) continue;
  const bytes = readFileSync(join(WEB, f));
  const z = gzipSync(bytes, { level: 9 }).byteLength;
  raw += bytes.byteLength;
  gz += z;
  console.log(`${f.padEnd(12)} ${(bytes.byteLength / 1024).toFixed(0).padStart(5)} KiB, gzip ${(z / 1024).toFixed(0).padStart(4)} KiB`);
}
console.log(`page in all (without examples and model): ${(raw / 1024).toFixed(0)} KiB, gzip ${(gz / 1024).toFixed(0)} KiB`);

const server = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), 'demo', '--port', '0'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
const url = await new Promise<string>((resolve) => {
  let out = '';
  server.stdout!.on('data', (d) => {
    out += d;
    const m = /http:\/\/[^ ]+\//.exec(out);
    if (m) resolve(m[0]);
  });
});
const ready: number[] = [];
const first: number[] = [];
const fetched: number[] = [];
const warm: number[] = [];
const second: number[] = [];
const model = `${url}${servedModelPath(DEFAULT_MODEL)}`;
const bytes = ['', 'app.js', 'worker.js', 'sw.js'].map((f) => url + f).concat([`${model}manifest.json`, `${model}${PREPARED_NAME}`]);
type Demo = { relpropDemo: { firstHeatmapMs: number | null; photo: { name: string } | null; results: Map<string, unknown> } };
const heatmapOf = (name: string) => (n: string) => {
  const d = (globalThis as never as Demo).relpropDemo;
  return d.photo?.name === n && d.results.size > 0;
};
for (let i = 0; i < RUNS; i++) {
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
  const blank = await (await browser.newContext()).newPage();
  await blank.goto(`${url}not-a-page`);
  fetched.push(await blank.evaluate(async (urls) => {
    const t = performance.now();
    await Promise.all(urls.map((u) => fetch(u, { cache: 'no-store' }).then((r) => r.arrayBuffer())));
    return performance.now() - t;
  }, bytes));
  const page = await (await browser.newContext()).newPage();
  const t0 = Date.now();
  await page.goto(url);
  await page.waitForFunction(() => /Model ready/.test(document.getElementById('status')!.textContent!), null, { timeout: 120_000 });
  ready.push(Date.now() - t0);
  await page.click('button[data-example="chelsea.png"]');
  await page.waitForFunction(heatmapOf('chelsea.png'), 'chelsea.png', { timeout: 120_000 });
  first.push(Date.now() - t0);
  const t1 = Date.now();
  await page.click('button[data-example="coffee.png"]');
  await page.waitForFunction(heatmapOf('coffee.png'), 'coffee.png', { timeout: 120_000 });
  warm.push(Date.now() - t1);
  const t2 = Date.now();
  await page.reload();
  await page.waitForFunction(() => /Model ready/.test(document.getElementById('status')!.textContent!), null, { timeout: 120_000 });
  await page.click('button[data-example="chelsea.png"]');
  await page.waitForFunction(heatmapOf('chelsea.png'), 'chelsea.png', { timeout: 120_000 });
  second.push(Date.now() - t2);
  const threads = await page.textContent('#footer');
  console.log(`run ${i + 1}: fetch ${fetched.at(-1)!.toFixed(0)} ms; model ready ${ready.at(-1)} ms (${(ready.at(-1)! / fetched.at(-1)!).toFixed(2)}x the fetch), first heatmap ${first.at(-1)} ms; one warm explanation ${warm.at(-1)} ms; second visit to its first heatmap ${second.at(-1)} ms (${(second.at(-1)! / warm.at(-1)!).toFixed(2)}x) (${threads})`);
  await browser.close();
}
server.kill();
const ratio = (a: number[], b: number[]) => a.map((x, i) => x / b[i]);
const range = (v: number[]) => `${median(v).toFixed(2)} (${Math.min(...v).toFixed(2)}-${Math.max(...v).toFixed(2)})`;
console.log(`median of ${RUNS}: fetch ${median(fetched).toFixed(0)} ms, model ready ${median(ready).toFixed(0)} ms, first heatmap ${median(first).toFixed(0)} ms, warm explanation ${median(warm).toFixed(0)} ms, second visit ${median(second).toFixed(0)} ms`);
console.log(`model ready / fetch: ${range(ratio(ready, fetched))}; second visit / warm explanation: ${range(ratio(second, warm))}`);
