/**
 * The demo page end to end: `relprop demo` (from the sources, as `npx relprop demo` runs it) serving
 * dist/web (built by `npm test`'s build) and the cached resnet50-imagenet, driven in Debian's Chromium
 * through playwright-core. Without /usr/bin/chromium it is skipped, unless RELPROP_BROWSER=required
 * (.ci/run), when its absence fails.
 *
 * Relevance in the page equals Node's for the same photo within 1e-5 of its scale: both run the
 * relaxed-SIMD kernels (Node with the flag the CLI and these tests set), on threads in the page (which
 * give the one-thread result bit for bit, spec/threads.spec.ts), and PNG decoding gives the same pixels
 * (the platform's, colour profiles off, against pngjs); what may differ is where one engine fuses a
 * multiply-add and the other does not, the bound spec/runtimes.spec.ts holds the browser to.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pngjs from 'pngjs';
import type { Browser, Page } from 'playwright-core';
import { explainImage, npyOf, panelOf } from '../src/app/index.js';
import { CAPTION_HEIGHT } from '../src/render/panel-pixels.js';
import { loadModel } from '../src/index.js';
import { ROOT } from './helpers/cli.js';

const CHROMIUM = '/usr/bin/chromium';
const available = existsSync(CHROMIUM) || process.env.RELPROP_BROWSER === 'required';
const CHELSEA = join(ROOT, 'examples/chelsea.png');
const ONNX = join(ROOT, 'spec/fixtures/architectures/mobilenet_v2.onnx');
const SHOTS = join(ROOT, '.demo-screenshots');

let server: ChildProcess;
let url: string;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

/** Starts `relprop demo --port 0` and reads the address it prints. */
async function startDemo(): Promise<string> {
  server = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), 'demo', '--port', '0'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  return new Promise((resolve, reject) => {
    server.stdout!.on('data', (d) => {
      out += d;
      const m = /http:\/\/[^ ]+\//.exec(out);
      if (m) resolve(m[0]);
    });
    server.stderr!.on('data', (d) => (out += d));
    server.on('exit', (code) => reject(new Error(`relprop demo exited (${code}): ${out}`)));
  });
}

type Result = { composite: string; target: { index: number; label: string }; top: { label: string }[]; relevance: number[] };
/** What the page holds for a composite, once it is there. */
async function resultFor(composite: string, target?: number): Promise<Result> {
  await page.waitForFunction(
    ([c, t]) => {
      const d = (globalThis as never as { relpropDemo: { results: Map<string, { target: { index: number } }>; errors: string[] } }).relpropDemo;
      const r = d.results.get(c as string);
      return d.errors.length > 0 || (r && (t === null || r.target.index === t));
    },
    [composite, target ?? null],
    { timeout: 90_000 },
  );
  return page.evaluate((c) => {
    const d = (globalThis as never as { relpropDemo: { results: Map<string, Result & { relevance: Float32Array }>; errors: string[] } }).relpropDemo;
    if (d.errors.length) throw new Error(`the page shows an error: ${d.errors.join('; ')}`);
    const r = d.results.get(c)!;
    return { composite: r.composite, target: r.target, top: r.top, relevance: Array.from(r.relevance) };
  }, composite);
}

function expectClose(page: number[], node: Float32Array): void {
  expect(page.length).toBe(node.length);
  let [scale, diff] = [0, 0];
  node.forEach((v, i) => {
    scale = Math.max(scale, Math.abs(v));
    diff = Math.max(diff, Math.abs(page[i] - v));
  });
  console.log(`page vs Node: max |diff| = ${(diff / scale).toExponential(2)} of scale`);
  expect(diff).toBeLessThanOrEqual(1e-5 * scale);
}

/** A screenshot saved and checked to show something: many colours, not one flat fill. */
async function screenshot(name: string): Promise<void> {
  const png = await page.screenshot({ fullPage: true });
  mkdirSync(SHOTS, { recursive: true });
  writeFileSync(join(SHOTS, `${name}.png`), png);
  const { data, width, height } = pngjs.PNG.sync.read(png);
  const colours = new Set<number>();
  for (let i = 0; i < data.length; i += 4 * 7) colours.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
  expect(width * height).toBeGreaterThan(0);
  expect(colours.size).toBeGreaterThan(500);
}

describe.skipIf(!available)('the demo page in Chromium', () => {
  beforeAll(async () => {
    url = await startDemo();
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(url);
    await page.waitForFunction(() => /Model ready|Stopped/.test(document.getElementById('status')!.textContent!), null, { timeout: 90_000 });
  });
  afterAll(async () => {
    await browser?.close();
    server?.kill();
  });

  it('serves the page\'s files and the manifest\'s, nothing else', async () => {
    // Raw paths, as a hostile client sends them (fetch would normalise the dots away first).
    const { request } = await import('node:http');
    const status = (path: string, method = 'GET') =>
      new Promise<number>((resolve, reject) => {
        const req = request(new URL(url), { path: path.startsWith('/') ? path : `/${path}`, method }, (res) => {
          res.resume();
          resolve(res.statusCode!);
        });
        req.on('error', reject);
        req.end();
      });
    expect(await status('index.html')).toBe(200);
    expect(await status('models/resnet50-imagenet/manifest.json')).toBe(200);
    expect(await status('models/resnet50-imagenet/ResNet50/model.json')).toBe(200);
    // Out of the page's folder or the model's cache, raw or escaped; a cached file the manifest does not list; not GET.
    for (const path of ['/../package.json', '/%2e%2e/%2e%2e/package.json', '/models/resnet50-imagenet/%2e%2e/%2e%2e/%2e%2e/package.json', '/models/resnet50-imagenet/.relprop-complete', '/models/resnet50-imagenet/../../../package.json', '/models/other/x', '/%00']) {
      expect([path, await status(path)]).toEqual([path, 404]);
    }
    expect(await status('index.html', 'POST')).toBe(405);
  });

  it('is served with the headers threads need, and loads the default model in a worker', async () => {
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
    expect(await page.textContent('#status')).toMatch(/Model ready: resnet50-imagenet/);
    expect(await page.textContent('#footer')).toMatch(/[2-8] threads/);
    expect(pageErrors).toEqual([]);
  });

  it('explains examples/chelsea.png: top-1 Egyptian_cat, relevance equal to Node\'s', async () => {
    await page.click('button[data-example="chelsea.png"]');
    const r = await resultFor('epsilon-gamma-box');
    expect(r.top[0].label).toBe('Egyptian_cat');
    expect(r.target.label).toBe('Egyptian_cat');
    const node = await explainImage(await loadModel('resnet50-imagenet'), CHELSEA, { composite: 'epsilon-gamma-box' });
    expectClose(r.relevance, node.relevance);
    expect(await page.locator('#panels canvas').count()).toBe(1);
    // The chart's books: one-hot relevance 1 at the logits, the input's sum as Node found it.
    const inputSum = node.relevance.reduce((a, b) => a + b, 0);
    expect(await page.textContent('#chart-note')).toMatch(new RegExp(`Of the 1\\.00 the explanation started with, .* and ${inputSum.toPrecision(3).replace('.', '\\.')} reached the input`));
    await screenshot('desktop');
    // The downloads: the panel as a PNG, the relevance as the .npy Node writes.
    const saved = async (button: string) => {
      const [download] = await Promise.all([page.waitForEvent('download'), page.click(`#panels .panel button:text("${button}")`)]);
      return readFileSync((await download.path())!);
    };
    const panel = await saved('Panel PNG');
    writeFileSync(join(SHOTS, 'panel.png'), panel);
    const png = pngjs.PNG.sync.read(panel);
    // Three images side by side and the caption's strip below them (the one on screen has none).
    const shown = await page.$eval('#panels canvas', (c) => [(c as HTMLCanvasElement).width, (c as HTMLCanvasElement).height]);
    expect([png.width, png.height]).toEqual([shown[0], shown[1] + CAPTION_HEIGHT]);
    // Its images are Node's panel's, pixel for pixel (the same code and relevance; the captions' fonts differ).
    const ours = pngjs.PNG.sync.read(Buffer.from((await panelOf(node, { height: shown[1], clipPercentile: 99.5, overlay: 0.5, cmap: 'bwr' })).png));
    expect(ours.width).toBe(png.width);
    const rows = shown[1] * png.width * 4;
    expect(Buffer.from(png.data.subarray(0, rows)).equals(Buffer.from(ours.data.subarray(0, rows)))).toBe(true);
    expect(png.width).toBeGreaterThan(3 * 160);
    expect(new Uint8Array(await saved('Relevance .npy'))).toEqual(npyOf(node));
  });

  it('explains a second class when it is clicked, and a second composite beside the first', async () => {
    const second = await page.locator('#top button').nth(1);
    const index = Number(await second.getAttribute('data-class'));
    await second.click();
    const r = await resultFor('epsilon-gamma-box', index);
    expect(r.target.index).toBe(index);
    await page.check('#compare input[value="epsilon-plus-flat"]');
    const flat = await resultFor('epsilon-plus-flat', index);
    expect(flat.target.index).toBe(index);
    const node = await explainImage(await loadModel('resnet50-imagenet'), CHELSEA, { composite: 'epsilon-plus-flat', target: index });
    expectClose(flat.relevance, node.relevance);
    await page.waitForFunction(() => document.querySelectorAll('#panels canvas').length === 2);
    await page.setViewportSize({ width: 390, height: 844 });
    await screenshot('phone');
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it('works offline once loaded: reloaded without a network, it explains with the default model', async () => {
    // The service worker has cached the page and the model once it is active.
    await page.evaluate(() => navigator.serviceWorker.ready.then(() => undefined));
    await page.context().setOffline(true);
    try {
      await page.reload();
      await page.waitForFunction(() => /Model ready: resnet50-imagenet|Stopped/.test(document.getElementById('status')!.textContent!), null, { timeout: 90_000 });
      expect(await page.textContent('#status')).toMatch(/Model ready: resnet50-imagenet/);
      await page.click('button[data-example="chelsea.png"]');
      expect((await resultFor('epsilon-gamma-box')).target.label).toBe('Egyptian_cat');
    } finally {
      await page.context().setOffline(false);
    }
  });

  it('explains with an ONNX file the user picks from disk', async () => {
    await page.uncheck('#compare input[value="epsilon-plus-flat"]');
    await page.selectOption('#model-kind', 'files');
    await page.setInputFiles('#model-input', ONNX);
    await page.click('#load');
    // The photo shown is explained again with the new model at once, so the status moves on: the model's line says it loaded.
    await page.waitForFunction(() => /^mobilenet_v2\.onnx: input 3x64x64/.test(document.getElementById('model-info')!.textContent!), null, { timeout: 60_000 });
    const r = await resultFor('epsilon-gamma-box');
    const node = await explainImage(await loadModel(readFileSync(ONNX)), CHELSEA, { composite: 'epsilon-gamma-box' });
    expect(r.target.index).toBe(node.target.index);
    expectClose(r.relevance, node.relevance);
  });

  it('shows a clear message on the page for a file that is not a model', async () => {
    await page.setInputFiles('#model-input', { name: 'broken.onnx', mimeType: 'application/octet-stream', buffer: Buffer.from('this is not an ONNX model') });
    await page.click('#load');
    const box = page.locator('#error');
    await box.waitFor({ state: 'visible', timeout: 30_000 });
    expect(await box.textContent()).toMatch(/Cannot load the model: .*broken\.onnx/);
    // The model in use stays: the page and its worker still hold the ONNX model picked before.
    expect(await page.textContent('#model-info')).toMatch(/^mobilenet_v2\.onnx/);
    await screenshot('bad-file');
    expect(pageErrors).toEqual([]);
  });
});

/** dist/web from a plain static server: no COOP/COEP headers, no served model. */
describe.skipIf(!available)('the static copy of the page, from a plain static host', () => {
  let host: import('node:http').Server;
  let staticBrowser: Browser;
  afterAll(async () => {
    await staticBrowser?.close();
    host?.close();
  });

  it('runs on one thread and says why, offers models from disk, and explains with one', async () => {
    const { createServer } = await import('node:http');
    const web = join(ROOT, 'dist/web');
    host = createServer((req, res) => {
      const rel = new URL(req.url ?? '/', 'http://x').pathname.slice(1) || 'index.html';
      const file = join(web, rel);
      if (rel.includes('..') || !existsSync(file)) return res.writeHead(404).end();
      res.writeHead(200, { 'Content-Type': rel.endsWith('.js') ? 'text/javascript' : rel.endsWith('.html') ? 'text/html' : 'application/octet-stream' }).end(readFileSync(file));
    });
    await new Promise<void>((r) => host.listen(0, '127.0.0.1', r));
    const { chromium } = await import('playwright-core');
    staticBrowser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    const p = await staticBrowser.newPage();
    const errors: string[] = [];
    p.on('pageerror', (e) => errors.push(e.message));
    await p.goto(`http://127.0.0.1:${(host.address() as import('node:net').AddressInfo).port}/`);
    await p.waitForFunction(() => /Pick a model/.test(document.getElementById('status')!.textContent!), null, { timeout: 30_000 });
    expect(await p.evaluate(() => crossOriginIsolated)).toBe(false);
    expect(await p.textContent('#footer')).toMatch(/1 thread \(this page is not cross-origin isolated/);
    expect(await p.locator('#model-kind option[value=served]').count()).toBe(0);
    await p.setInputFiles('#model-input', ONNX);
    await p.click('#load');
    await p.waitForFunction(() => /Model ready/.test(document.getElementById('status')!.textContent!), null, { timeout: 60_000 });
    await p.click('button[data-example="chelsea.png"]');
    await p.waitForFunction(() => document.querySelectorAll('#panels canvas').length === 1, null, { timeout: 60_000 });
    const relevance = await p.evaluate(() => Array.from((globalThis as never as { relpropDemo: { results: Map<string, { relevance: Float32Array }> } }).relpropDemo.results.get('epsilon-gamma-box')!.relevance));
    const node = await explainImage(await loadModel(readFileSync(ONNX)), CHELSEA, { composite: 'epsilon-gamma-box' });
    expectClose(relevance, node.relevance);
    expect(errors).toEqual([]);
  });
});
