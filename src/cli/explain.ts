import { basename, dirname, join } from 'node:path';
import { captionOf, explainRequested, npyOf, resolveClass, type ImageExplanation, type ImageRequest } from '../app/explain-image.js';
import { engineRequest } from '../model/request.js';
import { preprocessingOf } from '../app/explain-photo.js';
import { defaultCompositeFor, resolveComposite } from '../composites.js';
import { fail, RelpropError } from '../errors.js';
import { decodeImage, type RgbImage } from '../image/decode.js';
import { COLORMAPS } from '../render/colormaps.js';
import { NORMALIZATIONS, normalizationOf, type Normalization } from '../render/heatmap.js';
import { defaultKernelBuild } from '../wasm/load.js';
import { imagesOf, inShard, parseShard } from './inputs.js';
import { makeDirs, outputStems, prepareOutputDir, writeAtomically } from './output.js';
import { panelRenderer } from './panel-renderer.js';
import { Progress } from './progress.js';
import { resolveModel, type ModelOptions } from './resolve-model.js';
import { settingsKey, type RunSettings } from './run-settings.js';
import { MAX_THREADS } from '../wasm/constants.generated.js';
import { numberFlag } from './flags.js';
import { methodOf, type MethodFlags } from './method-flags.js';
import { finished, relevanceLine, type Failure, type ImageRecord } from './explain-records.js';

/** The exit code of a run that finished but could not explain some of its images (1: nothing ran). */
export const EXIT_SOME_FAILED = 3;

export interface ExplainCliOptions extends ModelOptions, MethodFlags {
  target: string;
  topk: string;
  out: string;
  cmap?: string;
  overlay: string;
  normalize?: string;
  clip?: string;
  npy?: boolean;
  json?: boolean;
  backend: string;
  threads?: string;
  batch?: string;
  shard?: string;
  failFast?: boolean;
}

export async function explainCommand(images: string[], o: ExplainCliOptions): Promise<void> {
  // Check every option before the (possibly long) model load (the composite, when given; else the model's own).
  const composite = o.composite === undefined ? undefined : resolveComposite(o.composite);
  const method = methodOf(o);
  o = { ...o, cmap: o.cmap ?? (o.method === 'grad-cam' ? 'hot' : 'bwr') };
  const cmap = o.cmap!;
  const topk = numberFlag(o.topk, '--topk', 1, 1000, true);
  const overlay = numberFlag(o.overlay, '--overlay', 0, 1);
  const clipPercentile = o.clip === undefined ? undefined : numberFlag(o.clip, '--clip', 0.01, 100);
  if (!COLORMAPS[cmap]) fail('BAD_OPTION', `unknown colour map "${cmap}"; known: ${Object.keys(COLORMAPS).join(', ')}`);
  if (o.normalize !== undefined && !NORMALIZATIONS.includes(o.normalize as Normalization)) fail('BAD_OPTION', `unknown --normalize "${o.normalize}"; known: ${NORMALIZATIONS.join(', ')}`);
  const normalize = normalizationOf({ cmap, normalize: o.normalize as Normalization | undefined });
  if (COLORMAPS[cmap].signed !== (normalize === 'symmetric')) {
    console.error(`relprop: note: --cmap ${cmap} is ${COLORMAPS[cmap].signed ? 'signed (zero in its middle)' : 'one-sided'}, and --normalize ${normalize} ${normalize === 'symmetric' ? 'puts zero at its middle colour' : 'puts zero at its first colour'}`);
  }
  if (o.backend !== 'wasm' && o.backend !== 'reference') fail('BAD_OPTION', `--backend must be wasm or reference, got "${o.backend}"`);
  const backend = o.backend;
  const threads = o.threads === undefined ? undefined : numberFlag(o.threads, '--threads', 1, MAX_THREADS, true);
  const all = imagesOf(images, o.out);
  const shard = o.shard === undefined ? undefined : parseShard(o.shard);
  const batch = numberFlag(o.batch ?? '1', '--batch', 1, 1024, true);
  // Output names come from the whole list, so that shards name each image as one run of all does.
  const stems = outputStems(all);
  prepareOutputDir(o.out);
  const renderer = panelRenderer();
  try {
    await explainAll(renderer, { all, shard, batch, stems, composite, method, topk, overlay, clipPercentile, normalize, backend, threads }, o);
  } finally {
    await renderer.close();
  }
}

/** The command's options as checked before the model loads. */
interface CheckedRun {
  all: string[];
  shard: ReturnType<typeof parseShard> | undefined;
  batch: number;
  stems: string[];
  composite: ReturnType<typeof resolveComposite> | undefined;
  method: ImageRequest['method'];
  topk: number;
  overlay: number;
  clipPercentile: number | undefined;
  normalize: Normalization;
  backend: 'wasm' | 'reference';
  threads: number | undefined;
}

async function explainAll(renderer: ReturnType<typeof panelRenderer>, run: CheckedRun, o: ExplainCliOptions): Promise<void> {
  const { all, shard, batch, stems, method, topk, overlay, clipPercentile, normalize, backend, threads } = run;
  const cmap = o.cmap!;
  const progress = new Progress(o.json);
  const { model, identity, labels, notes } = await resolveModel(o, progress);
  for (const n of notes) console.error(`relprop: note: ${n}`);
  const target = resolveClass(model, o.target);
  const composite = run.composite ?? resolveComposite(defaultCompositeFor(model.graph));
  // Resolved once for every batch: the layers below take it as given.
  const request: ImageRequest = { engine: engineRequest({ backend, threads }), composite, target, topk, layers: false, ...(method ? { method } : {}) };
  const modelName = model.info.name ?? o.model ?? o.arch ?? 'model';
  const settings: RunSettings = {
    model: identity,
    input: model.inputShape,
    labels,
    preprocessing: preprocessingOf(model),
    ...(method
      ? { method: method.name, params: method.params }
      : { method: 'lrp' as const, composite: { name: composite.name, description: composite.description, initial: composite.initial, foldBatchNorm: composite.foldBatchNorm } }),
    target: target ?? 'top1',
    backend: backend === 'reference' ? 'reference (float64)' : `wasm (${defaultKernelBuild()})`,
    panel: { cmap, overlay, normalize, clipPercentile: clipPercentile ?? null },
  };
  const key = settingsKey(settings);
  const outputsOf = (stem: string) => ({ panel: `${stem}.png`, ...(o.npy ? { npy: `${stem}.npy` } : {}) });
  const mine = all
    .map((file, i) => ({ file, stem: join(o.out, `${stems[i]}.${method ? method.name : composite.name}.${key}`) }))
    .filter((_, i) => !shard || inShard(i, shard))
    .map((m) => ({ ...m, files: outputsOf(m.stem), record: `${m.stem}.json` }));
  // What these settings finished before is kept (a killed or failed run resumes); other settings write
  // other names, so nothing of theirs is replaced or taken for this run's.
  const before = new Map(mine.map((m) => [m, finished(m.files, m.record, Math.min(topk, model.numClasses))] as const).filter(([, r]) => r !== undefined) as [(typeof mine)[number], ImageRecord][]);
  const todo = mine.filter((m) => !before.has(m));
  const began = Date.now();
  const results: (ImageRecord & { skipped?: boolean; record: string })[] = [...before].map(([m, r]) => ({ ...r, files: m.files, record: m.record, skipped: true }));
  const failures: Failure[] = [];
  const say = (r: ImageRecord, extra: string) => {
    if (o.json) return;
    progress.stop();
    console.log(`${r.image}${extra}`);
    for (const [i, c] of r.top.entries()) console.log(`  ${String(i + 1).padStart(2)}. ${c.label.padEnd(28)} ${c.probability.toFixed(4)}  (class ${c.index})`);
    console.log(`  explained ${r.target.label} (class ${r.target.index}) with ${method ? method.name : composite.name}; ${method ? `attributions sum to ${r.relevance.sum.toPrecision(4)}` : relevanceLine(r.relevance, r.target)}`);
  };
  const failed = (image: string, e: unknown) => {
    if (o.failFast || !(e instanceof RelpropError)) throw e;
    failures.push({ image, code: e.code, message: e.message });
    progress.stop();
    console.error(`relprop: failed: ${e.message}`);
  };
  for (const r of results) say(r, `  (explained before with these settings: ${r.record})`);

  const batches = Math.ceil(todo.length / batch);
  const label = (b: number) => (batches > 1 ? `explaining, batch ${b + 1}/${batches}` : 'explaining');
  // Panels are drawn on the renderer's thread while the next batch is explained; each photo is finished
  // (panel, .npy, then its record, then its lines printed) in order, by this chain. What fails it (a
  // --fail-fast failure, a bug) stops the run at the next batch.
  let finishing: Promise<void> = Promise.resolve();
  let stopped: { error: unknown } | undefined;
  progress.start(todo.length, label(0));
  for (let b = 0; b < batches; b++) {
    if (stopped) throw stopped.error;
    const group = todo.slice(b * batch, (b + 1) * batch);
    progress.start(todo.length, label(b));
    progress.update(b * batch, group.map(({ file }) => basename(file)).join(', '));
    // Each photo decoded on its own: one unreadable file fails alone, not its batch.
    const photos: { m: (typeof todo)[number]; photo: RgbImage; decode: number }[] = [];
    for (const m of group) {
      const t = performance.now();
      try {
        photos.push({ m, photo: await decodeImage(m.file), decode: performance.now() - t });
      } catch (e) {
        failed(m.file, e);
      }
    }
    if (photos.length === 0) continue;
    // What fails past decoding (memory, the engine, a worker) is the model's or the machine's, and would
    // fail every image the same way: it stops the run; what is finished stays, and a rerun resumes.
    const xs: ImageExplanation[] = await explainRequested(model, photos.map((p) => p.m.file), async (i) => photos[i].photo, request);
    const explainMilliseconds = xs.reduce((s, x) => s + x.milliseconds.explain, 0);
    for (const [j, x] of xs.entries()) {
      const { m, decode } = photos[j];
      const t = performance.now();
      const panel = renderer
        .render({ photo: x.photo, map: x.map, height: x.prepared.height, width: x.prepared.width, window: x.prepared.window, options: { cmap, overlay, normalize, clipPercentile, caption: captionOf(x, modelName) } })
        .then((p) => ({ p, render: performance.now() - t }));
      // Settled here too, so a failure waiting in the chain is not an unhandled rejection meanwhile.
      panel.catch(() => undefined);
      const finish = async () => {
        let rendered;
        try {
          rendered = await panel;
        } catch (e) {
          failed(m.file, e);
          return;
        }
        makeDirs(dirname(m.stem));
        writeAtomically(m.files.panel, rendered.p.png);
        if (m.files.npy) writeAtomically(m.files.npy, npyOf(x));
        const start = composite.initial === 'logit' ? x.target.logit : 1;
        const record: ImageRecord = {
          image: m.file,
          settingsKey: key,
          settings,
          top: x.top,
          target: x.target,
          relevance: { start, sum: x.relevance.reduce((a, c) => a + c, 0) },
          files: m.files,
          panelSize: [rendered.p.width, rendered.p.height],
          milliseconds: { decode, preprocess: x.milliseconds.preprocess, render: rendered.render },
          batch: { images: xs.length, explainMilliseconds },
        };
        // The record last: its presence says the image is finished.
        writeAtomically(m.record, new TextEncoder().encode(JSON.stringify(record, null, 2) + '\n'));
        results.push({ ...record, record: m.record });
        say(record, '');
        // A blank panel with a reason: torchvision builds a ViT's head with zero weights, so an untrained one gives every class the same logit.
        if (x.relevance.every((v) => v === 0)) console.error(`relprop: note: ${m.file}: the relevance is 0 everywhere: ${x.target.label}'s logit does not depend on the input through the rules' paths (an untrained head with zero weights does this)`);
        if (!o.json) for (const f of [...Object.values(m.files), m.record]) console.log(`  wrote ${f}`);
        progress.start(todo.length, label(b));
        progress.update(b * batch + j + 1, basename(m.file));
      };
      finishing = finishing.then(() => (stopped ? undefined : finish())).catch((error: unknown) => void (stopped ??= { error }));
    }
  }
  await finishing;
  if (stopped) throw stopped.error;
  progress.stop();
  const explained = results.length - before.size;
  const summary = {
    model: { name: modelName, arch: model.info.arch, input: model.inputShape },
    settingsKey: key,
    settings,
    composite: composite.name,
    ...(shard ? { shard: `${shard.k}/${shard.n}` } : {}),
    explained,
    skipped: before.size,
    failed: failures.length,
    seconds: (Date.now() - began) / 1000,
    notes,
    images: results.map(({ settings: _, settingsKey: __, ...r }) => r),
    failures,
  };
  // A summary for runs over several images and for shards; named by the settings (and shard), so runs
  // with other settings into the same folder keep theirs.
  const summaryFile = all.length > 1 || shard ? join(o.out, `relprop-summary.${key}${shard ? `.${shard.k}-of-${shard.n}` : ''}.json`) : undefined;
  if (summaryFile) writeAtomically(summaryFile, new TextEncoder().encode(JSON.stringify(summary, null, 2) + '\n'));
  if (o.json) console.log(JSON.stringify({ ...summary, ...(summaryFile ? { summary: summaryFile } : {}) }, null, 2));
  else if (mine.length > 1 || failures.length) {
    console.log(`${explained} explained, ${before.size} done before with these settings, ${failures.length} failed${summaryFile ? `; summary in ${summaryFile}` : ''}`);
  }
  if (failures.length) {
    console.error(`relprop: ${failures.length} image${failures.length > 1 ? 's' : ''} could not be explained (listed above${summaryFile ? ` and in ${summaryFile}` : ''}); a rerun with the same settings retries only ${failures.length > 1 ? 'those' : 'that one'}`);
    process.exitCode = EXIT_SOME_FAILED;
  }
}
