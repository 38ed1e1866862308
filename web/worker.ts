/**
 * The demo's engine, in a Web Worker so the page never freezes: loads models (the served default with
 * progress per byte, or the user's files), decodes photos (decode-photo.ts) and explains them with
 * the library's own code (explain-photo.ts: the preprocessing Node uses). The engine's threads are
 * workers of this worker, over shared memory when the page is cross-origin isolated.
 *
 * Requests run one at a time, in the order they came: an explanation asked for after a load is made by
 * the model that load brings, and a model is never disposed under an explanation still running.
 */
import { COMPOSITES, DEFAULT_COMPOSITE, defaultCompositeFor } from '../src/composites.js';
import { explainPhotos, preprocessingOf } from '../src/app/explain-photo.js';
import { compositeRules } from '../src/app/layer-rules.js';
import { loadModel, loadModelFiles } from '../src/io/load.js';
import { buildServedModel, loadServedModel } from '../src/io/registry/served.js';
import { ARCHITECTURES } from '../src/architectures/index.js';
import type { Model } from '../src/model/model.js';
import { MODEL_CACHE } from './caches.js';
import { decodePhoto } from './decode-photo.js';
import { DEMO_METHODS, type Evaluated, type ModelChoice, type ModelSummary, type Reply, type Request } from './protocol.js';
import { evaluate } from '../src/evaluation/evaluate.js';
import { preprocessImage } from '../src/image/preprocess.js';
import type { curvesSvg } from '../src/evaluation/curves-plot.js';

const scope = self as unknown as { postMessage(m: Reply, transfer?: Transferable[]): void; onmessage: ((e: MessageEvent<Request>) => void) | null };
const post = (m: Reply, transfer: Transferable[] = []) => scope.postMessage(m, transfer);

const cores = Math.min(navigator.hardwareConcurrency || 1, 8);
const threads = crossOriginIsolated ? cores : 1;
post({
  type: 'ready',
  architectures: ARCHITECTURES,
  composites: COMPOSITES.map((c) => ({ name: c.name, description: c.description })),
  threads,
  threadNote: crossOriginIsolated ? null : 'this page is not cross-origin isolated (no COOP/COEP headers), so shared memory is off and the engine runs on one thread',
  defaultComposite: DEFAULT_COMPOSITE,
});

let model: Model | null = null;
let modelName = '';
type Loaded = { model: Model; name: string };
/**
 * Served models once loaded, by their base URL: switching back to the default model takes it from here
 * rather than fetching its 98 MB again, at the cost of its weights staying in memory meanwhile.
 */
const kept = new Map<string, Loaded>();
/** Models that have run once (their engine started and weights uploaded). */
const warm = new WeakSet<Model>();

/** Where the served model's prepared form is kept between visits; none where the Cache API is not (an insecure origin). */
async function modelCache(): Promise<Cache | undefined> {
  return typeof caches === 'undefined' ? undefined : caches.open(MODEL_CACHE).catch(() => undefined);
}

async function load(id: number, choice: ModelChoice): Promise<Loaded> {
  if (choice.kind === 'served') {
    const earlier = kept.get(choice.base);
    if (earlier) return earlier;
    let loaded: Loaded;
    if (choice.bytes) {
      // Fetched by the page (and kept in the cache there).
      post({ type: 'progress', id, stage: `Loading ${choice.bytes.manifest.name}: building it` });
      loaded = { model: await buildServedModel(choice.bytes, { threads }), name: choice.bytes.manifest.name };
    } else {
      const served = await loadServedModel(choice.base, { threads, cache: await modelCache(), onProgress: (stage, done, total) => post({ type: 'progress', id, stage, done, total }) });
      void served.kept.then((inCache) => inCache && post({ type: 'kept', name: served.name }));
      loaded = { model: served.model, name: served.name };
    }
    kept.set(choice.base, loaded);
    return loaded;
  }
  if (choice.kind === 'url') {
    post({ type: 'progress', id, stage: `Loading ${choice.url}` });
    return { model: await loadModel(choice.url, { arch: choice.arch, threads }), name: choice.url };
  }
  const name = choice.files.map((f) => f.name).join(' + ');
  post({ type: 'progress', id, stage: `Loading ${name}` });
  return { model: await loadModelFiles(new Map(choice.files.map((f) => [f.name, f.bytes])), { arch: choice.arch, threads }), name };
}

function summary(m: Model): ModelSummary {
  const p = preprocessingOf(m);
  return {
    name: modelName,
    inputShape: m.inputShape,
    numClasses: m.numClasses,
    labelled: !!m.info.labels,
    preprocessing: `${p.name}${m.info.preprocessing ? '' : ' (assumed)'}: ${p.size.join('x')}, ${m.inputShape[0] === 1 ? 'luminance' : p.channelOrder}`,
    composites: compositeRules(m),
    defaultComposite: defaultCompositeFor(m.graph),
  };
}

async function handle(req: Request): Promise<void> {
  try {
    if (req.type === 'load') {
      // The model in use stays until another has loaded: a file that fails leaves the page as it was.
      const next = await load(req.id, req.model);
      const keep = [...kept.values()].some((k) => k.model === model);
      if (model !== next.model && !keep) model?.dispose();
      ({ model, name: modelName } = next);
      post({ type: 'loaded', id: req.id, model: summary(model!) });
      // A forward of zeros while the user picks a photo: a fresh model's first run starts its engine and
      // threads and moves its weights into wasm memory (a first forward took 340-510 ms here against
      // 150-165 once warm), and an explanation asked for meanwhile waits for it in the queue, then runs
      // warm. Its errors are the explanation's to show.
      if (!warm.has(model!)) {
        warm.add(model!);
        await model!.forward(new Float32Array(model!.inputShape.reduce((a, b) => a * b, 1))).catch(() => {});
      }
      return;
    }
    if (!model) throw new Error('no model is loaded yet');
    if (req.type === 'evaluate') {
      post({ type: 'evaluated', id: req.id, result: await evaluateShown(model, req) });
      return;
    }
    post({ type: 'progress', id: req.id, stage: `explaining with ${req.method ?? req.composite}` });
    const { name, bytes } = req.image;
    const method = req.method === undefined ? {} : { method: { method: req.method, ...DEMO_METHODS[req.method] } };
    const [x] = await explainPhotos(model, [name], () => decodePhoto(bytes, name), { composite: req.composite, ...method, target: req.target, topk: req.topk, layers: req.method === undefined });
    const result = { ...x, model: modelName, layers: x.layers ?? [], prepared: { height: x.prepared.height, width: x.prepared.width, window: x.prepared.window } };
    post({ type: 'explained', id: req.id, result }, [x.relevance.buffer, x.map.buffer, x.photo.data.buffer]);
  } catch (e) {
    post({ type: 'error', id: req.id, message: (e as Error)?.message ?? String(e) });
  }
}

/**
 * The evaluate panel: each shown explanation of the photo scored by the metric's curve (the library's
 * evaluate), and the curves drawn to SVG by Vega-Lite, whose bundle (plot.js) loads on the first use
 * only: the page's start does not wait for it.
 */
async function evaluateShown(m: Model, req: Extract<Request, { type: 'evaluate' }>): Promise<Evaluated> {
  const photo = await decodePhoto(req.image.bytes, req.image.name);
  const x = preprocessImage(photo, preprocessingOf(m), m.inputShape[0] as 1 | 3).input;
  const rows: Evaluated['rows'] = [];
  const series: { method: string; curves: Float64Array[] }[] = [];
  let target = req.target;
  const [, h, w] = m.inputShape;
  // Deletion and insertion cover the whole photo in the steps asked for.
  const options = req.metric === 'region-perturbation' ? { steps: req.steps } : { pixelsPerStep: Math.ceil((h * w) / req.steps) };
  let settings: Record<string, unknown> = {};
  for (const [i, shown] of req.shown.entries()) {
    post({ type: 'progress', id: req.id, stage: `evaluating ${shown} (${i + 1} of ${req.shown.length})` });
    const t = performance.now();
    const spec = Object.hasOwn(DEMO_METHODS, shown) ? { method: shown, ...DEMO_METHODS[shown] } : { method: 'lrp', composite: shown };
    const a = await m.attribute(x, { ...spec, target });
    target = a.targets[0];
    const e = await evaluate(m, x, a.attribution, { metric: req.metric, ...options, target });
    settings = e.settings;
    rows.push({ method: shown, aopc: e.aopc[0], auc: e.auc[0], seconds: (performance.now() - t) / 1000 });
    series.push({ method: shown, curves: e.curves });
  }
  const plot = (await import(/* the separate bundle */ new URL('./plot.js', import.meta.url).href)) as { curvesSvg: typeof curvesSvg };
  const axis = req.metric === 'region-perturbation' ? `regions perturbed (${settings.patch} x ${settings.patch}, filled ${settings.fill})` : `steps (${settings.pixelsPerStep} pixels ${req.metric === 'deletion' ? 'deleted' : 'inserted'} each)`;
  const svg = await plot.curvesSvg(series, { title: `${req.metric}, ${req.image.name}`, x: axis, y: 'probability of the class' });
  return { metric: req.metric, rows, svg };
}

let queue = Promise.resolve();
scope.onmessage = ({ data }) => {
  queue = queue.then(() => handle(data));
};
