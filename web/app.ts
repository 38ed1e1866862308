/**
 * The demo page: picks a photo, a model, composites and a class; sends the work to worker.ts and draws
 * what comes back with the library's own panel code (panel-pixels.ts, as Node's PNGs). Nothing is
 * uploaded anywhere: the only requests are for the page, the examples and the served default model.
 */
import { COLORMAPS } from '../src/render/colormaps.js';
import { panelPixels, type PanelOptions } from '../src/render/panel-pixels.js';
import { encodeNpy } from '../src/render/npy.js';
import { captionOf } from '../src/app/explain-photo.js';
import { DEFAULT_MODEL, servedModelPath } from '../src/io/registry/default-model.js';
import { fetchServedModel, type ServedBytes } from '../src/io/registry/served-files.js';
import { MODEL_CACHE } from './caches.js';
import type { Metric } from '../src/evaluation/evaluate.js';
import { DEMO_METHODS, type Explained, type ModelChoice, type ModelSummary, type Reply, type Request } from './protocol.js';

const EXAMPLES = ['chelsea.png', 'coffee.png', 'astronaut.png', 'rocket.jpg'];
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const started = performance.now();

interface State {
  model: ModelSummary | null;
  photo: { name: string; bytes: Uint8Array } | null;
  /** The class explained: undefined for the top-1. */
  target: number | undefined;
  /** Results of the current photo and class, by composite. */
  results: Map<string, Explained>;
  firstHeatmapMs: number | null;
  /** The errors on show (cleared when the next step starts). */
  errors: string[];
  /** The model being loaded, as the page names it, or null. */
  loading: string | null;
  /** Served models the worker has kept for the next visit (and for offline use). */
  kept: string[];
}
const state: State = { model: null, photo: null, target: undefined, results: new Map(), firstHeatmapMs: null, errors: [], loading: null, kept: [] };
// What end-to-end tests (and curious users, from the console) read: the page's own state.
(globalThis as unknown as { relpropDemo: State }).relpropDemo = state;

// ---- the worker ------------------------------------------------------------------------------------

const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });

/**
 * The default model served beside the page (`relprop demo`), fetched on this thread from the start
 * while the worker starts (its 689 KiB took 200-480 ms to start, the model's fetch waited for it):
 * its bytes, or null where the page has none (a static host). Its prepared form is kept in the Cache
 * API by its version (caches.ts), so a second visit reads it from there.
 */
const defaultBase = new URL(servedModelPath(DEFAULT_MODEL), location.href).href;
let defaultBytes: Promise<ServedBytes | null> | null = (async () => {
  // A GET, not a HEAD: offline, the service worker's cache answers GETs only.
  const listed = await fetch(`${defaultBase}manifest.json`).then((r) => r.ok, () => false);
  if (!listed) return null;
  const cache = typeof caches === 'undefined' ? undefined : await caches.open(MODEL_CACHE).catch(() => undefined);
  const { bytes, kept } = await fetchServedModel(defaultBase, { cache, onProgress: showProgress });
  void kept.then((inCache) => inCache && state.kept.push(bytes.manifest.name));
  return bytes;
})();
// Not waited for yet: its errors are shown when the model is loaded from it.
defaultBytes.catch(() => {});
let nextId = 1;
const pending = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();
let ready: (r: Extract<Reply, { type: 'ready' }>) => void;
const readyReply = new Promise<Extract<Reply, { type: 'ready' }>>((r) => (ready = r));

worker.onmessage = ({ data }: MessageEvent<Reply>) => {
  if (data.type === 'ready') return ready(data);
  if (data.type === 'progress') return showProgress(data.stage, data.done, data.total);
  if (data.type === 'kept') return void state.kept.push(data.name);
  const p = pending.get(data.id);
  if (!p) return;
  pending.delete(data.id);
  if (data.type === 'error') p.reject(new Error(data.message));
  else p.resolve(data);
};
worker.onerror = (e) => showError(`the engine's worker failed: ${e.message || 'it could not start'}`);

type Payload<T extends Request['type']> = Omit<Extract<Request, { type: T }>, 'id'>;
function ask<T extends Request['type']>(req: Payload<T>, transfer: Transferable[] = []): Promise<Reply> {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    worker.postMessage({ ...req, id }, transfer);
  });
}

// ---- status ------------------------------------------------------------------------------------------

function showProgress(stage: string, done?: number, total?: number): void {
  const bar = $<HTMLProgressElement>('progress');
  if (done !== undefined && total) {
    bar.value = done / total;
    $('status').textContent = `${stage}: ${(done / 2 ** 20).toFixed(1)} of ${(total / 2 ** 20).toFixed(1)} MiB`;
  } else {
    bar.removeAttribute('value'); // indeterminate while a step runs
    $('status').textContent = `${stage}…`;
  }
}

function done(message: string): void {
  const bar = $<HTMLProgressElement>('progress');
  bar.value = 1;
  $('status').textContent = message;
}

function showError(message: string): void {
  state.errors.push(message);
  const box = $('error');
  box.textContent = message;
  box.style.display = 'block';
  done('Stopped: see the message below.');
}

function clearError(): void {
  state.errors = [];
  const box = $('error');
  box.textContent = '';
  box.style.display = 'none';
}

// ---- model ------------------------------------------------------------------------------------------

const kind = $<HTMLSelectElement>('model-kind');
const archSelect = $<HTMLSelectElement>('arch');
const modelInput = $<HTMLInputElement>('model-input');
const urlInput = $<HTMLInputElement>('url-input');
function showModelFields(): void {
  $('model-files').hidden = kind.value !== 'files';
  $('model-url').hidden = kind.value !== 'url';
  $('model-arch').hidden = kind.value === 'served';
  showArch();
}
kind.onchange = showModelFields;

/**
 * Whether the model chosen is weights only, so that the architecture applies: told apart as the loader
 * tells them (src/io/load.ts): among picked files a model.json wins, else the one model file; a URL by
 * its path's ending. Null while there is nothing to tell from (or no single model among the files).
 */
function weightsOnly(): boolean | null {
  const weights = /\.(safetensors|pth|pt|bin|pdparams)$/;
  if (kind.value === 'served') return false;
  if (kind.value === 'url') {
    const url = urlInput.value.trim();
    if (!url) return null;
    try {
      return weights.test(new URL(url).pathname);
    } catch {
      return weights.test(url);
    }
  }
  const names = [...(modelInput.files ?? [])].map((f) => f.name);
  if (names.some((n) => n.endsWith('.json'))) return false;
  const models = names.filter((n) => /\.(onnx|safetensors|pth|pt|bin|pdparams)$/.test(n) && !/-shard\d+of\d+(\.bin)?$/.test(n));
  return models.length === 1 ? !models[0].endsWith('.onnx') : null;
}

/** The architecture is offered for weights-only files alone; for any other model the choice is cleared, not carried over. */
function showArch(): void {
  const own = weightsOnly() === false;
  archSelect.disabled = own;
  if (own) archSelect.value = '';
  $('arch-note').textContent = own && kind.value !== 'served' ? 'Not needed: this model describes its own layers.' : '';
}
modelInput.onchange = showArch;
urlInput.oninput = showArch;

/** What is being loaded, as the user chose it (the served model's name is known only from its manifest). */
function choiceName(): string {
  if (kind.value === 'served') return 'the default model (ResNet-50)';
  if (kind.value === 'url') return urlInput.value.trim();
  return [...(modelInput.files ?? [])].map((f) => f.name).join(' + ');
}

async function modelChoice(): Promise<ModelChoice> {
  const arch = weightsOnly() === true ? archSelect.value || undefined : undefined;
  if (kind.value === 'served') {
    // The bytes fetched at the start go to the worker once (moved, not copied); later loads of the
    // same model find it in the worker, or the worker fetches it (from the cache).
    const bytes = await defaultBytes;
    defaultBytes = null;
    return { kind: 'served', base: defaultBase, ...(bytes ? { bytes } : {}) };
  }
  if (kind.value === 'url') {
    const url = urlInput.value.trim();
    if (!url) throw new Error('give the URL of a model file first');
    return { kind: 'url', url, arch };
  }
  const picked = [...(modelInput.files ?? [])];
  if (picked.length === 0) throw new Error('pick the model file(s) first');
  return { kind: 'files', files: await Promise.all(picked.map(async (f) => ({ name: f.name, bytes: new Uint8Array(await f.arrayBuffer()) }))), arch };
}

/** The buffers of a served model's bytes, to move to the worker. */
function servedBuffers(bytes: ServedBytes): ArrayBuffer[] {
  return [bytes.prepared, ...(bytes.files?.values() ?? [])].filter((b) => b !== undefined).map((b) => b.buffer as ArrayBuffer);
}

async function loadModel(): Promise<void> {
  // Before anything asynchronous, so the status never shows the last step's outcome over a load under way.
  clearError();
  state.loading = choiceName() || 'the model';
  showProgress(`Loading ${state.loading}`);
  $<HTMLButtonElement>('load').disabled = true;
  let loaded = false;
  try {
    const choice = await modelChoice();
    const transfer = choice.kind === 'files' ? choice.files.map((f) => f.bytes.buffer as ArrayBuffer) : choice.kind === 'served' && choice.bytes ? servedBuffers(choice.bytes) : [];
    const reply = await ask<'load'>({ type: 'load', model: choice }, transfer);
    if (reply.type !== 'loaded') return;
    state.model = reply.model;
    state.target = undefined;
    const m = reply.model;
    // A model of the other kind (a transformer after a CNN, or back) brings its own default; else the pick stays.
    if (m.defaultComposite !== shownDefault) showDefaultComposite(m.defaultComposite);
    $('model-info').textContent = `${m.name}: input ${m.inputShape.join('x')}, ${m.numClasses} classes${m.labelled ? '' : ' (unlabelled)'}; preprocessing ${m.preprocessing}`;
    showRules();
    done(`Model ready: ${m.name}.`);
    loaded = true;
  } catch (e) {
    showError(`Cannot load the model: ${(e as Error).message}`);
  } finally {
    state.loading = null;
    $<HTMLButtonElement>('load').disabled = false;
  }
  // The photo on show is explained again by the new model. One that waited for a model that did not
  // load is explained by the model still in use (its caption says which), under the load's error.
  if (state.photo && loaded) await explainAll();
  else if (state.photo && waitingNote !== null) await explainAll({ keepError: true });
}
$('load').onclick = () => void loadModel();

// ---- composites and colours --------------------------------------------------------------------------

const compositeSelect = $<HTMLSelectElement>('composite');
const methodSelect = $<HTMLSelectElement>('method');
/** What to show, first the picked one: composites (LRP) and other methods (DEMO_METHODS), by name. */
function composites(): string[] {
  const first = methodSelect.value === 'lrp' ? compositeSelect.value : methodSelect.value;
  const extra = [...document.querySelectorAll<HTMLInputElement>('#compare input:checked')].map((c) => c.value);
  return [first, ...extra.filter((c) => c !== first)];
}
methodSelect.add(new Option('lrp (with the composite below)', 'lrp'));
for (const [m, params] of Object.entries(DEMO_METHODS)) methodSelect.add(new Option(`${m}${Object.keys(params).length ? ` (${Object.entries(params).map(([k, v]) => `${k} ${v}`).join(', ')})` : ''}`, m));
methodSelect.onchange = () => void explainAll();

function showRules(): void {
  const rules = $('rules');
  rules.replaceChildren();
  const c = state.model?.composites.find((x) => x.name === compositeSelect.value);
  if (!c) return;
  for (const r of c.rules) {
    const li = document.createElement('li');
    li.textContent = `${r.label}: ${r.layers.length === 1 ? r.layers[0] : `${r.layers.length} layers (${r.layers[0]}, …)`}`;
    rules.append(li);
  }
}

/** The default marked in the composite list: the library's at the start, then the loaded model's. */
let shownDefault = '';

/** The model's own composite picked and marked (default). */
function showDefaultComposite(name: string): void {
  shownDefault = name;
  for (const option of Array.from(compositeSelect.options)) option.text = `${option.value}${option.value === name ? ' (default)' : ''}`;
  compositeSelect.value = name;
}

compositeSelect.onchange = () => {
  showRules();
  void explainAll();
};

for (const name of Object.keys(COLORMAPS)) $<HTMLSelectElement>('cmap').add(new Option(name, name));
$<HTMLSelectElement>('cmap').onchange = drawPanels;
$<HTMLSelectElement>('clip').onchange = drawPanels;
$<HTMLInputElement>('opacity').oninput = () => {
  $('opacity-value').textContent = $<HTMLInputElement>('opacity').value;
  drawPanels();
};

// ---- photos ----------------------------------------------------------------------------------------

async function usePhoto(name: string, blob: Blob): Promise<void> {
  state.photo = { name, bytes: new Uint8Array(await blob.arrayBuffer()) };
  state.target = undefined;
  await explainAll();
}

const drop = $('drop');
drop.onclick = () => $<HTMLInputElement>('photo').click();
drop.onkeydown = (e) => {
  if (e.key === 'Enter' || e.key === ' ') $<HTMLInputElement>('photo').click();
};
$<HTMLInputElement>('photo').onchange = () => {
  const f = $<HTMLInputElement>('photo').files?.[0];
  if (f) void usePhoto(f.name, f);
};
drop.ondragover = (e) => {
  e.preventDefault();
  drop.classList.add('over');
};
drop.ondragleave = () => drop.classList.remove('over');
drop.ondrop = (e) => {
  e.preventDefault();
  drop.classList.remove('over');
  const f = e.dataTransfer?.files[0];
  if (f) void usePhoto(f.name, f);
};
document.onpaste = (e) => {
  const f = [...(e.clipboardData?.files ?? [])].find((x) => x.type.startsWith('image/'));
  if (f) void usePhoto(f.name || 'pasted image', f);
};
for (const name of EXAMPLES) {
  const b = document.createElement('button');
  b.title = `Explain ${name}`;
  b.dataset.example = name;
  const img = document.createElement('img');
  img.src = `examples/${name}`;
  img.alt = name;
  b.append(img);
  b.onclick = async () => {
    try {
      const res = await fetch(`examples/${name}`);
      if (!res.ok) throw new Error(`${res.status} ${res.statusText}`);
      await usePhoto(name, await res.blob());
    } catch (e) {
      showError(`Cannot fetch the example ${name}: ${(e as Error).message}`);
    }
  };
  $('examples').append(b);
}

// ---- explaining --------------------------------------------------------------------------------------

let generation = 0;
/** Why the panels are empty while a photo waits for a model, or null. */
let waitingNote: string | null = null;
async function explainAll(options: { keepError?: boolean } = {}): Promise<void> {
  if (!state.photo) return;
  const mine = ++generation;
  state.results = new Map();
  if (state.loading !== null || !state.model) {
    // Never explained by the model about to be replaced: loadModel explains it once the new one is in.
    waitingNote = state.loading !== null ? `${state.photo.name} will be explained once ${state.loading} has loaded.` : `Load a model to explain ${state.photo.name}.`;
    $('top').replaceChildren();
    clearChart();
    drawPanels();
    return;
  }
  waitingNote = null;
  if (!options.keepError) clearError();
  showProgress(`Explaining ${state.photo.name}`);
  drawPanels();
  try {
    for (const composite of composites()) {
      // A load started meanwhile: the rest waits for its model (what is shown so far names its own).
      if (state.loading !== null) return;
      const bytes = state.photo.bytes.slice(); // each request transfers its own copy
      const which = Object.hasOwn(DEMO_METHODS, composite) ? { composite: compositeSelect.value, method: composite } : { composite };
      const reply = await ask<'explain'>({ type: 'explain', image: { name: state.photo.name, bytes }, ...which, target: state.target, topk: 5 }, [bytes.buffer]);
      if (mine !== generation || reply.type !== 'explained') return;
      state.results.set(composite, reply.result);
      if (state.firstHeatmapMs === null) {
        state.firstHeatmapMs = performance.now() - started;
        $('footer').textContent += ` · first heatmap ${(state.firstHeatmapMs / 1000).toFixed(1)} s after the page loaded`;
      }
      drawTop(reply.result);
      drawPanels();
      if (reply.result.layers.length) drawChart(reply.result);
      else clearChart();
    }
    const r = state.results.get(composites()[0]);
    if (r) done(`Explained ${r.target.label} with ${[...state.results.keys()].join(', ')} in ${[...state.results.values()].reduce((s, x) => s + x.milliseconds.explain, 0).toFixed(0)} ms.`);
  } catch (e) {
    if (mine === generation) showError(`Cannot explain ${state.photo.name}: ${(e as Error).message}`);
  }
}

// ---- faithfulness --------------------------------------------------------------------------------------

/** Scores the heatmaps shown (composites() on the photo on screen) with the chosen metric, in the worker. */
async function evaluateShown(): Promise<void> {
  if (!state.photo || !state.model) return showError('Load a model and pick a photo first.');
  clearError();
  const metric = $<HTMLSelectElement>('eval-metric').value as Metric;
  const shown = composites();
  const bytes = state.photo.bytes.slice();
  $<HTMLButtonElement>('evaluate').disabled = true;
  try {
    const reply = await ask<'evaluate'>({ type: 'evaluate', image: { name: state.photo.name, bytes }, shown, metric, steps: 50, target: state.target }, [bytes.buffer]);
    if (reply.type !== 'evaluated') return;
    const { rows, svg } = reply.result;
    const score = metric === 'region-perturbation' ? 'aopc' : 'auc';
    const table = $<HTMLTableElement>('eval-table');
    table.replaceChildren();
    const head = table.insertRow();
    for (const h of ['heatmap', score.toUpperCase(), 'seconds']) head.insertCell().textContent = h;
    for (const r of rows) {
      const row = table.insertRow();
      for (const v of [r.method, r[score].toFixed(4), r.seconds.toFixed(1)]) row.insertCell().textContent = v;
    }
    // Vega's SVG: its text (the methods' names, the photo's file name in the title) is escaped by Vega's
    // SVG renderer, so a file name cannot add markup.
    $('eval-plot').innerHTML = svg;
    done(`Evaluated ${rows.length} heatmap${rows.length > 1 ? 's' : ''} by ${metric}.`);
  } catch (e) {
    showError(`Cannot evaluate: ${(e as Error).message}`);
  } finally {
    $<HTMLButtonElement>('evaluate').disabled = false;
  }
}
$('evaluate').onclick = () => void evaluateShown();

function drawTop(r: Explained): void {
  const list = $('top');
  list.replaceChildren();
  for (const c of r.top) {
    const li = document.createElement('li');
    const b = document.createElement('button');
    b.className = c.index === r.target.index ? 'on' : '';
    b.dataset.class = String(c.index);
    const name = document.createElement('span');
    name.textContent = `${c.label} (${c.index})`;
    const p = document.createElement('span');
    p.textContent = `${(c.probability * 100).toFixed(1)}%`;
    b.append(name, p);
    const bar = document.createElement('div');
    bar.className = 'bar';
    bar.style.width = `${Math.max(1, c.probability * 100)}%`;
    b.onclick = () => {
      state.target = c.index;
      void explainAll();
    };
    li.append(b, bar);
    list.append(li);
  }
}

function drawPanels(): void {
  const box = $('panels');
  box.replaceChildren();
  const picked = $<HTMLSelectElement>('cmap').value;
  const overlay = Number($<HTMLInputElement>('opacity').value);
  const clipPercentile = Number($<HTMLSelectElement>('clip').value);
  for (const [composite, r] of state.results) {
    const div = document.createElement('div');
    div.className = 'panel';
    div.dataset.composite = composite;
    // The model that made this result, which need not be the one in use now.
    const caption = captionOf(r, r.model);
    // A one-sided map (Grad-CAM's) on a signed colour map would paint all of it in one half: hot instead.
    const cmap = r.shading === 'positive' && COLORMAPS[picked].signed ? 'hot' : picked;
    const options = { cmap, overlay, clipPercentile, height: Math.min(320, Math.max(160, r.photo.height)) };
    const canvas = panelCanvas(r, options);
    const text = document.createElement('div');
    text.className = 'caption';
    text.textContent = caption;
    const downloads = document.createElement('div');
    downloads.className = 'downloads';
    const png = document.createElement('button');
    png.className = 'plain';
    png.textContent = 'Panel PNG';
    // The file is the panel as Node writes it (panelOf): the same pixels, the caption in a strip below.
    png.onclick = () => panelCanvas(r, { ...options, caption }).toBlob((b) => b && save(b, `${stem(r)}.png`), 'image/png');
    const npy = document.createElement('button');
    npy.className = 'plain';
    npy.textContent = 'Relevance .npy';
    npy.onclick = () => save(new Blob([encodeNpy(r.relevance, [1, r.relevance.length / (r.prepared.height * r.prepared.width), r.prepared.height, r.prepared.width]) as Uint8Array<ArrayBuffer>]), `${stem(r)}.npy`);
    downloads.append(png, npy);
    div.append(canvas, text, downloads);
    box.append(div);
  }
  if (state.results.size === 0) {
    const hint = document.createElement('p');
    hint.className = waitingNote === null ? 'hint' : 'hint waiting';
    hint.textContent = waitingNote ?? 'Red: evidence for the class; blue: against it.';
    box.append(hint);
  }
}

/** The panel's pixels (panel-pixels.ts) on a canvas, with the caption set in the strip it leaves for one. */
function panelCanvas(r: Explained, options: PanelOptions): HTMLCanvasElement {
  const px = panelPixels(r.photo, r.map, r.prepared.height, r.prepared.width, r.prepared.window, options);
  const canvas = document.createElement('canvas');
  canvas.width = px.width;
  canvas.height = px.height;
  const ctx = canvas.getContext('2d')!;
  ctx.putImageData(new ImageData(px.rgba as Uint8ClampedArray<ArrayBuffer>, px.width, px.height), 0, 0);
  if (options.caption) {
    ctx.fillStyle = '#000';
    ctx.font = '16px sans-serif';
    ctx.fillText(options.caption, 6, px.imageHeight + 19);
  }
  return canvas;
}

const stem = (r: Explained) => `${r.source.replace(/\.[^.]+$/, '')}.${r.target.index}.${r.composite}`;

function save(blob: Blob, name: string): void {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

const chartNote = $('chart-note').textContent;
/** No bars and the chart's explanation back: the photo shown has no result yet. */
function clearChart(): void {
  const canvas = $<HTMLCanvasElement>('chart');
  canvas.getContext('2d')!.clearRect(0, 0, canvas.width, canvas.height);
  $('chart-note').textContent = chartNote;
}

/** Relevance each layer absorbed (what reached its output minus what it passed on), input side left. */
function drawChart(r: Explained): void {
  const canvas = $<HTMLCanvasElement>('chart');
  const ctx = canvas.getContext('2d')!;
  // In forward order (input first). Layers whose rule passes relevance on unchanged (activations,
  // reshapes) keep nothing: left out.
  const rows = r.layers.filter((l) => l.rule !== 'pass');
  const kept = rows.map((l) => l.relevanceOut[0] - l.relevanceIn[0]);
  const w = (canvas.width = canvas.clientWidth * devicePixelRatio || 900);
  const h = (canvas.height = 180 * devicePixelRatio);
  ctx.clearRect(0, 0, w, h);
  const m = Math.max(1e-12, ...kept.map(Math.abs));
  const mid = h / 2;
  const bw = w / Math.max(1, kept.length);
  ctx.fillStyle = '#d9dee3';
  ctx.fillRect(0, mid, w, 1);
  kept.forEach((v, i) => {
    ctx.fillStyle = v >= 0 ? '#c0392b' : '#2457c5';
    const bh = (Math.abs(v) / m) * (mid - 4);
    ctx.fillRect(i * bw, v >= 0 ? mid - bh : mid, Math.max(1, bw - 1), bh);
  });
  const total = kept.reduce((a, b) => a + b, 0);
  const start = rows.length ? rows[rows.length - 1].relevanceOut[0] : 0;
  $('chart-note').textContent = `${rows.length} layers with weights or sums, input side left (red: kept, blue: added); the largest bar is ${m.toPrecision(3)}. Of the ${start.toPrecision(3)} the explanation started with, ${total.toPrecision(3)} was absorbed on the way and ${r.relevance.reduce((a, b) => a + b, 0).toPrecision(3)} reached the input.`;
}

// ---- start -------------------------------------------------------------------------------------------

void (async () => {
  const r = await readyReply;
  for (const a of r.architectures) archSelect.add(new Option(a, a));
  for (const c of r.composites) {
    compositeSelect.add(new Option(`${c.name}${c.name === r.defaultComposite ? ' (default)' : ''}`, c.name));
    const label = document.createElement('label');
    const box = document.createElement('input');
    box.type = 'checkbox';
    box.value = c.name;
    box.onchange = () => void explainAll();
    label.title = c.description;
    label.append(box, c.name);
    $('compare').append(label);
  }
  for (const m of Object.keys(DEMO_METHODS)) {
    const label = document.createElement('label');
    const box = document.createElement('input');
    box.type = 'checkbox';
    box.value = m;
    box.onchange = () => void explainAll();
    label.append(box, m);
    $('compare').append(label);
  }
  shownDefault = r.defaultComposite;
  compositeSelect.value = r.defaultComposite;
  $('footer').textContent = `relprop · ${r.threads} thread${r.threads > 1 ? 's' : ''}${r.threadNote ? ` (${r.threadNote})` : ''} · works offline once loaded`;
  // The default model when the page is served by `relprop demo`; a static copy has none to fetch.
  const served = await defaultBytes!.then((b) => b !== null, () => true);
  if (!served) {
    kind.querySelector('option[value=served]')!.remove();
    kind.value = 'files';
    showModelFields();
    done('Pick a model from disk or give a URL, then a photo.');
  } else {
    await loadModel();
  }
  // Offline use (sw.ts); a page opened from file:// or without a secure context simply has none. Once
  // the model is ready: its install fetches the page's files and examples, which slowed the first load
  // when it ran beside it.
  if ('serviceWorker' in navigator && isSecureContext) navigator.serviceWorker.register('sw.js').catch(() => {});
})();
