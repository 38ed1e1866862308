// The demo page: `node --import tsx bench/web.ts` (after `npm run build`; BENCH_RUNS, default 3). Sizes
// of dist/web's files (raw and gzip, what a static host sends), then, in Debian's Chromium against
// `relprop demo`, the time from navigation to the model being ready and to the first heatmap of
// examples/chelsea.png (clicked as soon as the model is ready), each in a fresh browser (nothing
// cached: the 100 MB model comes over localhost every time).
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';
import { median } from './interleaved.js';

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
for (let i = 0; i < RUNS; i++) {
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
  const page = await browser.newPage();
  const t0 = Date.now();
  await page.goto(url);
  await page.waitForFunction(() => /Model ready/.test(document.getElementById('status')!.textContent!), null, { timeout: 120_000 });
  ready.push(Date.now() - t0);
  await page.click('button[data-example="chelsea.png"]');
  await page.waitForFunction(() => (globalThis as never as { relpropDemo: { firstHeatmapMs: number | null } }).relpropDemo.firstHeatmapMs !== null, null, { timeout: 120_000 });
  first.push(await page.evaluate(() => (globalThis as never as { relpropDemo: { firstHeatmapMs: number } }).relpropDemo.firstHeatmapMs));
  const threads = await page.textContent('#footer');
  console.log(`run ${i + 1}: model ready ${ready.at(-1)} ms after navigation, first heatmap ${first.at(-1)!.toFixed(0)} ms after the page started (${threads})`);
  await browser.close();
}
server.kill();
console.log(`median of ${RUNS}: model ready ${median(ready).toFixed(0)} ms, first heatmap ${median(first).toFixed(0)} ms`);
