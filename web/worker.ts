/**
 * The demo's engine, in a Web Worker so the page never freezes: loads models (the served default with
 * progress per byte, or the user's files), decodes photos (decode-photo.ts) and explains them with
 * the library's own code (explain-photo.ts: the preprocessing Node uses). The engine's threads are
 * workers of this worker, over shared memory when the page is cross-origin isolated.
 *
 * Requests run one at a time, in the order they came: an explanation asked for after a load is made by
 * the model that load brings, and a model is never disposed under an explanation still running.
 */
import { COMPOSITES, DEFAULT_COMPOSITE, resolveComposite } from '../src/composites.js';
import { explainPhotos } from '../src/app/explain-photo.js';
import { fetchBounded } from '../src/io/files.js';
import { loadModel, loadModelFiles, MAX_MODEL_FILE_BYTES } from '../src/io/load.js';
import { checkManifest, parseLabels, type ModelManifest } from '../src/io/registry/manifest.js';
import { ARCHITECTURES } from '../src/architectures/index.js';
import type { Model } from '../src/model/model.js';
import { decodePhoto } from './decode-photo.js';
import type { CompositeRules, ModelChoice, ModelSummary, Reply, Request } from './protocol.js';

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

/** A known model as the demo server holds it: its manifest, labels, model.json and shards, with progress. */
async function loadServed(id: number, base: string): Promise<Loaded> {
  const progress = (stage: string, done?: number, total?: number) => post({ type: 'progress', id, stage, done, total });
  progress('Loading the default model: fetching its manifest');
  const text = async (url: URL) => new TextDecoder().decode(await fetchBounded(url.href, MAX_MODEL_FILE_BYTES));
  const served = JSON.parse(await text(new URL('manifest.json', base))) as ModelManifest & { sizes?: Record<string, number> };
  const manifest = checkManifest(served, 'the served manifest');
  const labels = manifest.labels ? parseLabels(await text(new URL(manifest.labels, base)), `${manifest.name} labels`) : undefined;
  const modelUrl = new URL(manifest.model, base);
  const json = await text(modelUrl);
  const paths: string[] = (JSON.parse(json).weightsManifest ?? []).flatMap((g: { paths: string[] }) => g.paths);
  // Shard paths are relative to model.json; the sizes the server lists are package paths.
  const dirOf = manifest.model.split('/').slice(0, -1).join('/');
  const sizeOf = (p: string) => served.sizes?.[dirOf ? `${dirOf}/${p}` : p] ?? 0;
  const total = paths.reduce((s, p) => s + sizeOf(p), 0);
  let done = 0;
  const files = new Map<string, Uint8Array>([['model.json', new TextEncoder().encode(json)]]);
  for (const p of paths) {
    files.set(p, await fetchBounded(new URL(p, modelUrl).href, sizeOf(p) || MAX_MODEL_FILE_BYTES, (n) => progress(`Loading ${manifest.name}`, (done += n), total)));
  }
  progress(`Loading ${manifest.name}: building it`);
  return { model: await loadModelFiles(files, { labels, preprocessing: manifest.preprocessing, threads }), name: manifest.name };
}

async function load(id: number, choice: ModelChoice): Promise<Loaded> {
  if (choice.kind === 'served') {
    const loaded = kept.get(choice.base) ?? (await loadServed(id, choice.base));
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

/** Each composite's rules on the loaded model's layers (as `relprop info` lists them). */
function compositeRules(m: Model): CompositeRules[] {
  return COMPOSITES.map((c) => {
    const composite = resolveComposite(c.name);
    const graph = m.canonicalGraph(composite.foldBatchNorm);
    const byLabel = new Map<string, string[]>();
    for (const [node, rule] of composite.assign(graph)) {
      if (rule.kind !== 'affine' && rule.kind !== 'norm') continue;
      if (!byLabel.has(rule.label)) byLabel.set(rule.label, []);
      byLabel.get(rule.label)!.push(node);
    }
    return { name: c.name, description: c.description, rules: [...byLabel].map(([label, layers]) => ({ label, layers })) };
  });
}

function summary(m: Model): ModelSummary {
  const p = m.info.preprocessing;
  return {
    name: modelName,
    inputShape: m.inputShape,
    numClasses: m.numClasses,
    labelled: !!m.info.labels,
    preprocessing: p ? `${p.name ?? 'custom'}: ${p.size.join('x')}, ${p.channelOrder}` : 'torchvision (assumed)',
    composites: compositeRules(m),
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
      return;
    }
    if (!model) throw new Error('no model is loaded yet');
    post({ type: 'progress', id: req.id, stage: `explaining with ${req.composite}` });
    const { name, bytes } = req.image;
    const [x] = await explainPhotos(model, [name], () => decodePhoto(bytes, name), { composite: req.composite, target: req.target, topk: req.topk, layers: true });
    const result = { ...x, model: modelName, layers: x.layers ?? [], prepared: { height: x.prepared.height, width: x.prepared.width, window: x.prepared.window } };
    post({ type: 'explained', id: req.id, result }, [x.relevance.buffer, x.map.buffer, x.photo.data.buffer]);
  } catch (e) {
    post({ type: 'error', id: req.id, message: (e as Error)?.message ?? String(e) });
  }
}

let queue = Promise.resolve();
scope.onmessage = ({ data }) => {
  queue = queue.then(() => handle(data));
};
