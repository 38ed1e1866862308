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
import { evaluate, loadModel, type Model } from '../src/index.js';
import { preprocessImage } from '../src/image/preprocess.js';
import { preprocessingOf } from '../src/app/explain-photo.js';
import { decodeImage } from '../src/image/decode.js';
import { CLI, ROOT } from './helpers/cli.js';
import { countingProxy, type CountingProxy } from './helpers/counting-proxy.js';
import { layersModelJson } from './helpers/keras-json.js';
import { lzwTiff } from './helpers/lzw-tiff.js';

const CHROMIUM = '/usr/bin/chromium';
const available = existsSync(CHROMIUM) || process.env.RELPROP_BROWSER === 'required';
const CHELSEA = join(ROOT, 'examples/chelsea.png');
const ONNX = join(ROOT, 'spec/fixtures/architectures/mobilenet_v2.onnx');
const PTH = join(ROOT, 'spec/fixtures/torch/resnet18.pth');
const VIT = join(ROOT, 'spec/fixtures/vit/vit.onnx');
const SHOTS = join(ROOT, '.demo-screenshots');

// Node's ResNet-50, loaded once for every comparison (98 MB of weights).
let nodeResnet: Promise<Model> | undefined;
const resnet = () => (nodeResnet ??= loadModel('resnet50-imagenet'));

let server: ChildProcess;
let url: string;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

/** A TF.js model.json that takes RGB (8x8): a global average pool, then 3 -> 2; its weights in w.bin. */
function rgbKerasModel(): string {
  return layersModelJson(
    [
      { name: 'in', class_name: 'InputLayer', config: { batch_input_shape: [null, 8, 8, 3] }, inbound_nodes: [] },
      { name: 'g', class_name: 'GlobalAveragePooling2D', config: {}, inbound_nodes: [[['in', 0, 0, {}]]] },
      { name: 'fc', class_name: 'Dense', config: { units: 2, activation: 'linear' }, inbound_nodes: [[['g', 0, 0, {}]]] },
    ],
    [{ paths: ['w.bin'], weights: [{ name: 'fc/kernel', shape: [3, 2], dtype: 'float32' }, { name: 'fc/bias', shape: [2], dtype: 'float32' }] }],
  );
}

/** Starts `relprop demo --port 0` and reads the address it prints. */
function spawnDemo(): { child: ChildProcess; url: Promise<string> } {
  const child = spawn(process.execPath, [...CLI, 'demo', '--port', '0'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const url = new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /http:\/\/[^ ]+\//.exec(out);
      if (m) resolve(m[0]);
    });
    child.stderr!.on('data', (d) => (out += d));
    child.on('exit', (code) => reject(new Error(`relprop demo exited (${code}): ${out}`)));
  });
  return { child, url };
}
async function startDemo(): Promise<string> {
  const demo = spawnDemo();
  server = demo.child;
  return demo.url;
}

type Result = { composite: string; source: string; model: string; target: { index: number; label: string }; top: { label: string }[]; relevance: number[] };
/** What the page holds for a composite (of that class, photo and model, when given), once it is there. */
async function resultFor(composite: string, want: { target?: number; source?: string; model?: string } = {}, on: Page = page): Promise<Result> {
  await on.waitForFunction(
    ([c, w]) => {
      const d = (globalThis as never as { relpropDemo: { results: Map<string, { target: { index: number }; source: string; model: string }>; errors: string[] } }).relpropDemo;
      const r = d.results.get(c as string);
      const { target, source, model } = w as { target?: number; source?: string; model?: string };
      return d.errors.length > 0 || (r && (target === undefined || r.target.index === target) && (source === undefined || r.source === source) && (model === undefined || r.model === model));
    },
    [composite, want] as const,
    { timeout: 90_000 },
  );
  return on.evaluate((c) => {
    const d = (globalThis as never as { relpropDemo: { results: Map<string, Result & { relevance: Float32Array }>; errors: string[] } }).relpropDemo;
    if (d.errors.length) throw new Error(`the page shows an error: ${d.errors.join('; ')}`);
    const r = d.results.get(c)!;
    return { composite: r.composite, source: r.source, model: r.model, target: r.target, top: r.top, relevance: Array.from(r.relevance) };
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
async function screenshot(name: string, on: Page = page): Promise<void> {
  const png = await on.screenshot({ fullPage: true });
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
    const node = await explainImage(await resnet(), CHELSEA, { composite: 'epsilon-gamma-box' });
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
    const r = await resultFor('epsilon-gamma-box', { target: index });
    expect(r.target.index).toBe(index);
    await page.check('#compare input[value="epsilon-plus-flat"]');
    const flat = await resultFor('epsilon-plus-flat', { target: index });
    expect(flat.target.index).toBe(index);
    const node = await explainImage(await resnet(), CHELSEA, { composite: 'epsilon-plus-flat', target: index });
    expectClose(flat.relevance, node.relevance);
    await page.waitForFunction(() => document.querySelectorAll('#panels canvas').length === 2);
    await page.setViewportSize({ width: 390, height: 844 });
    await screenshot('phone');
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it('explains with another method picked, Grad-CAM beside LRP, each equal to the library', async () => {
    await page.selectOption('#method', 'grad-cam');
    const cam = await resultFor('grad-cam');
    const node = await explainImage(await resnet(), CHELSEA, { method: 'grad-cam', target: cam.target.index });
    expectClose(cam.relevance, node.relevance);
    await page.check('#compare input[value="epsilon-gamma-box"]');
    await resultFor('epsilon-gamma-box');
    await page.waitForFunction(() => document.querySelectorAll('#panels canvas').length >= 2);
    await screenshot('methods');
    await page.uncheck('#compare input[value="epsilon-gamma-box"]');
    await page.selectOption('#method', 'lrp');
  });

  it('evaluates the heatmaps shown: a table and the curves, each AOPC equal to the library\'s', async () => {
    // The default composite (picked) and Grad-CAM beside it; the earlier tests' epsilon-plus-flat is left out.
    await page.uncheck('#compare input[value="epsilon-plus-flat"]');
    await page.check('#compare input[value="grad-cam"]');
    const cam = await resultFor('grad-cam');
    await page.selectOption('#eval-metric', 'region-perturbation');
    await page.click('#evaluate');
    await page
      .waitForFunction(() => (document.querySelectorAll('#eval-table tr').length === 3 && !!document.querySelector('#eval-plot svg')) || document.getElementById('error')!.textContent !== '', undefined, { timeout: 150_000 })
      .catch(async (e) => {
        throw new Error(`${(e as Error).message}; the page says: ${await page.textContent('#status')}`);
      });
    expect(await page.textContent('#error')).toBe('');
    const rows = await page.$$eval('#eval-table tr', (trs) => trs.slice(1).map((tr) => Array.from(tr.querySelectorAll('td'), (td) => td.textContent!)));
    expect(rows.map((r) => r[0])).toEqual(['epsilon-gamma-box', 'grad-cam']);
    const plotted = await page.$eval('#eval-plot svg', (s) => s.textContent);
    for (const text of ['region-perturbation, chelsea.png', 'regions perturbed (8 x 8, filled black)', 'probability of the class', 'epsilon-gamma-box', 'grad-cam']) expect(plotted).toContain(text);
    const model = await resnet();
    const x = preprocessImage(await decodeImage(CHELSEA), preprocessingOf(model), 3).input;
    for (const [name, spec] of [['epsilon-gamma-box', { method: 'lrp', composite: 'epsilon-gamma-box' }], ['grad-cam', { method: 'grad-cam' }]] as const) {
      const a = await model.attribute(x, { ...spec, target: cam.target.index });
      const e = await evaluate(model, x, a.attribution, { metric: 'region-perturbation', steps: 50, target: cam.target.index });
      // The page shows 4 decimals; the curves are the same wasm's (relaxed SIMD there may round the
      // last bits differently).
      expect(Math.abs(Number(rows.find((r) => r[0] === name)![1]) - e.aopc[0])).toBeLessThanOrEqual(2e-4);
    }
    await screenshot('evaluate');
    await page.uncheck('#compare input[value="grad-cam"]');
  }, 200_000);

  it('works offline once loaded: reloaded without a network, it explains with the default model', async () => {
    // The service worker has cached the page once it is active; the engine's worker says when it has kept the model.
    await page.evaluate(() => navigator.serviceWorker.ready.then(() => undefined));
    await page.waitForFunction(() => (globalThis as never as { relpropDemo: { kept: string[] } }).relpropDemo.kept.includes('resnet50-imagenet'), null, { timeout: 60_000 });
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

  it('explains with a vision transformer from disk: its own default (cp-lrp) picked, equal to the library', async () => {
    await page.uncheck('#compare input[value="epsilon-plus-flat"]');
    await page.selectOption('#model-kind', 'files');
    await page.setInputFiles('#model-input', VIT);
    await page.click('#load');
    await page.waitForFunction(() => /^vit\.onnx: input 3x32x32/.test(document.getElementById('model-info')!.textContent!), null, { timeout: 60_000 });
    expect(await page.inputValue('#composite')).toBe('cp-lrp');
    expect(await page.textContent('#composite option[value="cp-lrp"]')).toBe('cp-lrp (default)');
    // The rules listed include a transformer's own: the products with their attention weights held, LayerNorm's.
    expect(await page.textContent('#rules')).toMatch(/layernorm\(1e-9\): 9 layers.*held-first\(1e-9\): 8 layers/s);
    const r = await resultFor('cp-lrp', { model: 'vit.onnx' });
    const node = await explainImage(await loadModel(readFileSync(VIT)), CHELSEA, { composite: 'cp-lrp' });
    expect(r.target.index).toBe(node.target.index);
    expectClose(r.relevance, node.relevance);
    await screenshot('vit');
  });

  it('explains with an ONNX file the user picks from disk', async () => {
    await page.uncheck('#compare input[value="epsilon-plus-flat"]');
    await page.selectOption('#model-kind', 'files');
    await page.setInputFiles('#model-input', ONNX);
    await page.click('#load');
    // The photo shown is explained again with the new model at once, so the status moves on: the model's line says it loaded.
    await page.waitForFunction(() => /^mobilenet_v2\.onnx: input 3x64x64/.test(document.getElementById('model-info')!.textContent!), null, { timeout: 60_000 });
    const r = await resultFor('epsilon-gamma-box', { model: 'mobilenet_v2.onnx' });
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

/** What the page's state says, read in the page. */
const demoState = <T>(on: Page, read: (d: { model: { name: string } | null; errors: string[] }) => T) =>
  on.evaluate(`(${read.toString()})(globalThis.relpropDemo)`) as Promise<T>;

/**
 * What a new user ran into (issue 26, item 12), each in the order a user meets it, on one page behind a
 * proxy that counts what the page downloads and holds a download open while the test acts.
 */
describe.skipIf(!available)('the demo page while models change', () => {
  let demo: ChildProcess;
  let proxy: CountingProxy;
  let own: Browser;
  let p: Page;
  const errors: string[] = [];
  const ONNX_URL_PATH = '/extra/mobilenet_v2.onnx';
  const modelIs = (name: string) => p.waitForFunction((n) => (globalThis as never as { relpropDemo: { model: { name: string } | null } }).relpropDemo.model?.name === n, name, { timeout: 90_000 });

  beforeAll(async () => {
    const started = spawnDemo();
    demo = started.child;
    proxy = await countingProxy(await started.url, { [ONNX_URL_PATH]: readFileSync(ONNX) });
    const { chromium } = await import('playwright-core');
    own = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    p = await own.newPage({ viewport: { width: 1280, height: 900 } });
    p.on('pageerror', (e) => errors.push(e.message));
    await p.goto(proxy.url);
    await modelIs('resnet50-imagenet');
    // Settled: the service worker has installed (it caches the model's files as it does).
    await p.evaluate(() => navigator.serviceWorker.ready.then(() => undefined));
  });
  afterAll(async () => {
    await own?.close();
    await proxy?.close();
    demo?.kill();
  });

  it('explains an LZW-compressed TIFF, which the browser cannot decode, as Node does', async () => {
    const png = await decodeImage(CHELSEA);
    const bytes = lzwTiff(png.width, png.height, Uint8Array.from(png.data));
    // A sound file: relprop's decoder (the CLI's) reads back the PNG's pixels from it.
    expect((await decodeImage(bytes, 'chelsea.tiff')).data).toEqual(png.data);
    // And one the platform refuses, so the page's own decoder is what this test exercises.
    const platform = await p.evaluate((b) => createImageBitmap(new Blob([Uint8Array.from(b)])).then(() => 'decoded', (e: Error) => e.name), Array.from(bytes));
    expect(platform).toBe('InvalidStateError');
    await p.setInputFiles('#photo', { name: 'chelsea.tiff', mimeType: 'image/tiff', buffer: Buffer.from(bytes) });
    const r = await resultFor('epsilon-gamma-box', { source: 'chelsea.tiff' }, p);
    expect(r.top[0].label).toBe('Egyptian_cat');
    // Same pixels (checked above), so Node's explanation of the PNG is the TIFF's; the 1e-5 is the file's.
    expectClose(r.relevance, (await explainImage(await resnet(), CHELSEA, { composite: 'epsilon-gamma-box' })).relevance);
  });

  it('a photo clicked while another model downloads waits for it; the caption names the model that explained it', async () => {
    const release = proxy.hold(ONNX_URL_PATH);
    try {
      await p.selectOption('#model-kind', 'url');
      await p.fill('#url-input', new URL(ONNX_URL_PATH, proxy.url).href);
      await p.click('#load');
      await proxy.asked(ONNX_URL_PATH, 1);
      await p.click('button[data-example="coffee.png"]');
      // Whichever comes first: the page says it waits, or (the bug) coffee.png explained by the model in use.
      await p.waitForFunction(() => {
        const d = (globalThis as never as { relpropDemo: { results: Map<string, { source: string }> } }).relpropDemo;
        return document.querySelector('#panels .waiting') !== null || [...d.results.values()].some((r) => r.source === 'coffee.png');
      });
      expect(await p.textContent('#panels')).toMatch(/^coffee\.png will be explained once http:.*\/mobilenet_v2\.onnx has loaded\.$/);
      expect(await p.locator('#panels canvas').count()).toBe(0);
      // Nor does the chart keep the last photo's layers under the waiting one.
      expect(await p.textContent('#chart-note')).toMatch(/^Each bar: /);
      await screenshot('waiting-for-model', p);
    } finally {
      release();
    }
    const url = new URL(ONNX_URL_PATH, proxy.url).href;
    const r = await resultFor('epsilon-gamma-box', { source: 'coffee.png' }, p);
    expect(r.model).toBe(url);
    expect(await p.textContent('#panels .caption')).toMatch(new RegExp(`\\| ${url.replace(/[.]/g, '\\.')}$`));
    // Which model made it: the ONNX file's relevance, as Node finds it (the tolerance as above).
    expectClose(r.relevance, (await explainImage(await loadModel(readFileSync(ONNX)), join(ROOT, 'examples/coffee.png'), { composite: 'epsilon-gamma-box' })).relevance);
  });

  it('switching back to the default model does not download it again', async () => {
    const files = '/models/resnet50-imagenet/';
    // The page's first load and the service worker's install fetched it; each counted by the proxy.
    const before = proxy.count(files);
    expect(before).toBeGreaterThan(0);
    await p.selectOption('#model-kind', 'served');
    await p.click('#load');
    await modelIs('resnet50-imagenet');
    await p.click('button[data-example="chelsea.png"]');
    const r = await resultFor('epsilon-gamma-box', { source: 'chelsea.png', model: 'resnet50-imagenet' }, p);
    expect(proxy.count(files)).toBe(before);
    // The model kept while the ONNX file was in use still explains as Node does.
    expectClose(r.relevance, (await explainImage(await resnet(), CHELSEA, { composite: 'epsilon-gamma-box' })).relevance);
  });

  it('an architecture picked for a .pth does not follow to a model.json', async () => {
    await p.selectOption('#model-kind', 'files');
    await p.setInputFiles('#model-input', PTH);
    expect(await p.isDisabled('#arch')).toBe(false);
    await p.selectOption('#arch', 'resnet18');
    await p.click('#load');
    await modelIs('resnet18.pth');
    await p.setInputFiles('#model-input', [
      { name: 'model.json', mimeType: 'application/json', buffer: Buffer.from(rgbKerasModel()) },
      { name: 'w.bin', mimeType: 'application/octet-stream', buffer: Buffer.from(new Float32Array(3 * 2 + 2).fill(0.5).buffer) },
    ]);
    // The choice is cleared (it would not be used), so nothing on the page suggests otherwise.
    expect(await p.inputValue('#arch')).toBe('');
    expect(await p.isDisabled('#arch')).toBe(true);
    await p.click('#load');
    await p.waitForFunction(() => /model\.json/.test(document.getElementById('model-info')!.textContent!) || getComputedStyle(document.getElementById('error')!).display !== 'none', null, { timeout: 60_000 });
    expect(await demoState(p, (d) => d.errors)).toEqual([]);
    expect(await demoState(p, (d) => d.model?.name)).toBe('model.json + w.bin');
    // A URL is told apart by its ending, as a picked file by its name.
    await p.selectOption('#model-kind', 'url');
    await p.fill('#url-input', 'https://example.com/m/model.onnx');
    expect(await p.isDisabled('#arch')).toBe(true);
    await p.fill('#url-input', 'https://example.com/m/resnet18.pth');
    expect(await p.isDisabled('#arch')).toBe(false);
  });

  it('while a model loads the status says so, and the last error is gone', async () => {
    await p.selectOption('#model-kind', 'files');
    await p.setInputFiles('#model-input', { name: 'broken.onnx', mimeType: 'application/octet-stream', buffer: Buffer.from('this is not an ONNX model') });
    await p.click('#load');
    await p.locator('#error').waitFor({ state: 'visible', timeout: 30_000 });
    expect(await p.textContent('#status')).toMatch(/^Stopped/);
    const asked = proxy.count(ONNX_URL_PATH);
    const release = proxy.hold(ONNX_URL_PATH);
    try {
      await p.selectOption('#model-kind', 'url');
      await p.fill('#url-input', new URL(ONNX_URL_PATH, proxy.url).href);
      // What the page shows the moment Load is clicked (before anything asynchronous), then while the model downloads.
      const seen = () => {
        const box = document.getElementById('error')!;
        return { status: document.getElementById('status')!.textContent, shown: getComputedStyle(box).display !== 'none', text: box.textContent };
      };
      const atClick = await p.evaluate(`(document.getElementById('load').click(), (${seen.toString()})())`);
      expect(atClick).toEqual({ status: expect.stringMatching(/^Loading http:.*\/mobilenet_v2\.onnx/), shown: false, text: '' });
      await proxy.asked(ONNX_URL_PATH, asked + 1);
      expect(await p.evaluate(seen)).toEqual({ status: expect.stringMatching(/^Loading http:.*\/mobilenet_v2\.onnx/), shown: false, text: '' });
      expect(await demoState(p, (d) => d.errors)).toEqual([]);
      await screenshot('loading-after-error', p);
    } finally {
      release();
    }
    await modelIs(new URL(ONNX_URL_PATH, proxy.url).href);
    expect(errors).toEqual([]);
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
