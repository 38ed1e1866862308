/**
 * `relprop evaluate`: which explanation to trust, as numbers. For every photo and method, the method's
 * attribution and the metric's curve (src/evaluation), one record a pair (`<image>.<method>.<key>.eval.json`,
 * the key hashing everything that decides it, as explain's names do: a run with other settings never
 * replaces or skips one); then a table over the photos (AOPC or AUC: mean, spread, time) and the curves
 * as a plot (SVG and PNG). `--merge DIR...` makes the table and plot of shards' records.
 */
import { statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { preprocessingOf, resolveClass } from '../app/explain-photo.js';
import { METHODS, resolveMethod } from '../attribution/index.js';
import { defaultCompositeFor } from '../composites.js';
import { hasAttention } from '../graph/attention.js';
import type { Graph } from '../graph/graph.js';
import { fail, RelpropError } from '../errors.js';
import { evaluate, METRICS, resolveMetric, type EvaluateOptions, type Metric } from '../evaluation/evaluate.js';
import { parameterLayers, randomisation, type RandomisationOptions } from '../evaluation/randomisation.js';
import type { Model } from '../model/model.js';
import { decodeImage } from '../image/decode.js';
import { preprocessImage } from '../image/preprocess.js';
import { defaultKernelBuild } from '../wasm/load.js';
import { MAX_THREADS } from '../wasm/constants.generated.js';
import { EXIT_SOME_FAILED } from './explain.js';
import { imagesOf, inShard, parseShard } from './inputs.js';
import { makeDirs, outputStems, prepareOutputDir, writeAtomically } from './output.js';
import { Progress } from './progress.js';
import { resolveModel, type ModelOptions } from './resolve-model.js';
import { settingsKey } from './run-settings.js';
import { numberFlag } from './flags.js';
import { meant } from '../options.js';
import { mergeCommand, report } from './evaluate-report.js';
import { readRecord, type EvalRecord, type EvaluationSettings, type MethodItem, type PhotoIdentity } from './evaluate-records.js';

export interface EvaluateCliOptions extends ModelOptions {
  methods?: string;
  metric: string;
  patch?: string;
  steps?: string;
  pixelsPerStep?: string;
  fill?: string;
  order?: string;
  score?: string;
  seed?: string;
  target: string;
  out: string;
  json?: boolean;
  csv?: boolean;
  threads?: string;
  shard?: string;
  merge?: boolean;
  /** The options given on the command line, defaults aside. */
  given?: string[];
}

const parseValue = (v: string): unknown => {
  if (/^-?\d+(\.\d+)?(e-?\d+)?$/i.test(v)) return Number(v);
  const pair = /^(\d+)x(\d+)$/.exec(v);
  return pair ? [Number(pair[1]), Number(pair[2])] : v;
};

export function parseMethods(spec: string): MethodItem[] {
  const items = spec.split(',').map((s) => s.trim()).filter(Boolean);
  if (items.length === 0) fail('BAD_OPTION', '--methods lists no method');
  const out = items.map((label) => {
    const [method, ...args] = label.split(':');
    if (!Object.hasOwn(METHODS, method)) fail('BAD_OPTION', `--methods: unknown method "${method}" in "${label}"${meant(method, Object.keys(METHODS))}; methods: ${Object.keys(METHODS).join(', ')}`);
    const params: Record<string, unknown> = {};
    for (const a of args) {
      const eq = a.indexOf('=');
      if (eq < 0 && method === 'lrp' && !('composite' in params)) params.composite = a;
      else if (eq > 0) params[a.slice(0, eq)] = parseValue(a.slice(eq + 1));
      else fail('BAD_OPTION', `--methods: "${a}" in "${label}" is not key=value${method === 'lrp' ? ' or a composite' : ''}`);
    }
    return { label, method, params };
  });
  const dup = out.find((m, i) => out.findIndex((o) => o.label === m.label) !== i);
  if (dup) fail('BAD_OPTION', `--methods lists "${dup.label}" twice`);
  return out;
}

/** An optional whole-number flag. */
const int = (v: string | undefined, what: string, lo: number, hi: number) => (v === undefined ? undefined : numberFlag(v, what, lo, hi, true));

/** The metrics of --metric: the perturbation curves, and the parameter randomisation test. */
const CLI_METRICS = [...METRICS, 'randomisation'] as const;

/** The metric's options from the flags (evaluate and randomisation check their values and fill the defaults). */
function metricOf(o: EvaluateCliOptions): Omit<EvaluateOptions, 'target' | 'threads'> {
  if (!CLI_METRICS.includes(o.metric as Metric)) fail('BAD_OPTION', `unknown --metric "${o.metric}"${meant(o.metric, CLI_METRICS)}; metrics: ${CLI_METRICS.join(', ')}`);
  if (o.metric === 'randomisation') {
    const stray = (['patch', 'pixelsPerStep', 'fill', 'order', 'score'] as const).filter((k) => o[k] !== undefined);
    if (stray.length) fail('BAD_OPTION', `--metric randomisation takes --steps and --seed, not ${stray.map((k) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`).join(', ')}`);
  }
  const fill = o.fill === undefined ? undefined : Number.isFinite(Number(o.fill)) && o.fill.trim() !== '' ? Number(o.fill) : o.fill;
  const m: Record<string, unknown> = {
    metric: o.metric,
    patch: int(o.patch, '--patch', 1, 4096),
    steps: int(o.steps, '--steps', 1, 1e7),
    pixelsPerStep: int(o.pixelsPerStep, '--pixels-per-step', 1, 1e9),
    fill,
    order: o.order,
    score: o.score,
    seed: int(o.seed, '--seed', 0, 2 ** 32 - 1),
  };
  for (const k of Object.keys(m)) if (m[k] === undefined) delete m[k];
  return m as Omit<EvaluateOptions, 'target' | 'threads'>;
}

/**
 * --methods unless given: LRP's two CNN composites beside the gradient and Grad-CAM; for a transformer
 * its own two beside the gradient and gradient x input (Grad-CAM's last convolution there is the patch
 * embedding, before any attention).
 */
export function defaultMethodsFor(graph: Pick<Graph, 'nodes'>): string {
  return hasAttention(graph) ? 'lrp:cp-lrp,lrp:attnlrp,gradient,gradient-x-input' : 'lrp:epsilon-gamma-box,lrp:epsilon-plus-flat,gradient,grad-cam';
}

const slug = (label: string) => label.replace(/[:=]/g, '-').replace(/[^\w.-]/g, '_');

export async function evaluateCommand(args: string[], o: EvaluateCliOptions): Promise<void> {
  if (o.merge) {
    // A merge's settings are the records': a flag that would choose others is refused, not ignored.
    const kebab = (k: string) => k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
    const stray = (o.given ?? []).filter((k) => !['merge', 'out', 'json', 'csv'].includes(k));
    if (stray.length) fail('BAD_OPTION', `--merge takes the settings of the records it reads; ${stray.map((k) => `--${kebab(k)}`).join(', ')} cannot be given with it (only --out, --json, --csv)`);
    return mergeCommand(args, o);
  }
  const given = o.methods === undefined ? undefined : parseMethods(o.methods);
  const metricOptions = metricOf(o);
  // Everything but the sizes checked before the (possibly long) model load: on a shape as large as any.
  checkMetric(metricOptions, o, [3, 2 ** 20, 2 ** 20]);
  const threads = int(o.threads, '--threads', 1, MAX_THREADS);
  const all = imagesOf(args, o.out);
  const shard = o.shard === undefined ? undefined : parseShard(o.shard);
  const stems = outputStems(all);
  prepareOutputDir(o.out);
  const progress = new Progress(o.json);
  const { model, identity, notes } = await resolveModel(o, progress);
  for (const n of notes) console.error(`relprop: note: ${n}`);
  const target = resolveClass(model, o.target);
  const methods = given ?? parseMethods(defaultMethodsFor(model.graph));
  // LRP without a composite runs the model's own (a transformer's cp-lrp): its records' key names it, so
  // that a record made with another composite is not taken for it.
  const own = defaultCompositeFor(model.graph);
  const keyed = (m: MethodItem) => (m.method === 'lrp' && !('composite' in m.params) ? { ...m, params: { ...m.params, composite: own } } : m);
  const [c] = model.inputShape;
  // And against the model's input, with each method's parameters, before any photo is read.
  const taken = checkMetric(metricOptions, o, model.inputShape, model).steps as number;
  if (o.metric !== 'randomisation' && metricOptions.steps !== undefined && metricOptions.steps > taken) console.error(`relprop: note: --steps ${metricOptions.steps} is more than the ${taken} ${o.metric === 'region-perturbation' ? 'regions' : 'steps'} a ${model.inputShape.slice(1).join(' x ')} input has: each curve takes ${taken}`);
  const context = { graph: model.canonicalGraph(true), inputShape: model.inputShape, preprocessing: model.info.preprocessing };
  // A method's own parameters only: the run's (target, threads, batch ...) are the command's flags.
  for (const m of methods) resolveMethod(m.method, m.params, [], context, `--methods ${m.label}`);
  const settings: EvaluationSettings = {
    model: identity,
    input: model.inputShape,
    preprocessing: preprocessingOf(model),
    metric: { ...metricOptions },
    target: target ?? 'top1',
    backend: `wasm (${defaultKernelBuild()})`,
  };
  const runKey = settingsKey(settings);
  const mine = all.map((file, i) => ({ file, stem: join(o.out, stems[i]) })).filter((_, i) => !shard || inShard(i, shard));
  const records: EvalRecord[] = [];
  const failures: { image: string; method?: string; code: string; message: string }[] = [];
  let done = 0;
  let reused = 0;
  progress.start(mine.length * methods.length, 'evaluating');
  for (const { file, stem } of mine) {
    let input: Float32Array | undefined;
    // The photo as it is on disk is in the key: another photo of the same name, or this one changed, is
    // not taken for the one recorded.
    let photo: PhotoIdentity | undefined;
    try {
      const st = statSync(file);
      photo = { path: resolve(file), bytes: st.size, modified: st.mtime.toISOString() };
    } catch {
      photo = undefined;
    }
    for (const m of methods) {
      const key = settingsKey({ ...settings, method: keyed(m), photo });
      const path = `${stem}.${slug(m.label)}.${key}.eval.json`;
      progress.update(done++, `${basename(file)} ${m.label}`);
      const before = readRecord(path);
      if (before) {
        records.push(before);
        reused++;
        continue;
      }
      try {
        input ??= preprocessImage(await decodeImage(file), preprocessingOf(model), c as 1 | 3).input;
        const t0 = performance.now();
        const { target: index, ...measured } = o.metric === 'randomisation' ? await randomised(model, input, m, { target, threads, steps: metricOptions.steps, seed: metricOptions.seed }) : await perturbed(model, input, m, metricOptions, { target, threads });
        const record: EvalRecord = {
          image: file,
          ...(photo ? { photo } : {}),
          method: m,
          key,
          runKey,
          settings,
          target: { index, label: model.info.labels?.[index] ?? `class ${index}` },
          ...measured,
          seconds: { attribute: measured.seconds?.attribute ?? 0, evaluate: (performance.now() - t0) / 1000 - (measured.seconds?.attribute ?? 0) },
        };
        makeDirs(dirname(path));
        writeAtomically(path, new TextEncoder().encode(JSON.stringify(record) + '\n'));
        records.push(record);
      } catch (err) {
        if (!(err instanceof RelpropError)) throw err;
        progress.stop();
        console.error(`relprop: failed: ${file} (${m.label}): ${err.message}`);
        failures.push({ image: file, method: m.label, code: err.code, message: err.message });
        // A photo that cannot be read fails every method alike: once is enough.
        if (input === undefined) break;
      }
    }
  }
  progress.stop();
  // The table and plot are named by everything they show: settings, methods and photos (all of them,
  // before the shard), so no other run's are replaced.
  const name = `relprop-evaluate.${settingsKey({ runKey, methods: methods.map((m) => m.label), photos: all.map((f) => resolve(f)) })}${shard ? `.${shard.k}-of-${shard.n}` : ''}`;
  if (reused && !o.json) console.log(`${reused} of ${records.length} evaluations recorded before with these settings (their times are those runs')`);
  await report(records, methods.map((m) => m.label), o, name, settings, failures);
  if (failures.length) {
    console.error(`relprop: ${failures.length} evaluation${failures.length > 1 ? 's' : ''} failed (listed above); a rerun with the same settings retries only those`);
    process.exitCode = EXIT_SOME_FAILED;
  }
}

/** What a record holds of one photo's evaluation. */
type Measured = { target: number; seconds?: { attribute: number } } & Pick<EvalRecord, 'metric' | 'curve' | 'aopc' | 'auc' | 'correlation'>;

/** A perturbation metric: the method's map, then the curve of the photo perturbed in its order. */
async function perturbed(model: Model, input: Float32Array, m: MethodItem, metric: Omit<EvaluateOptions, 'target' | 'threads'>, run: { target?: number; threads?: number }): Promise<Measured> {
  const t0 = performance.now();
  const a = await model.attribute(input, { method: m.method, ...m.params, ...run });
  const attribute = (performance.now() - t0) / 1000;
  // --pixels-per-step counts values: a one-channel map's step takes as large a share, in whole pixels.
  const [c] = model.inputShape;
  const share = metric.metric === 'pixel-flipping' && metric.pixelsPerStep !== undefined && a.shape[1] === 1 && c > 1 ? { pixelsPerStep: Math.ceil(metric.pixelsPerStep / c) } : {};
  const e = await evaluate(model, input, a.attribution, { ...metric, ...share, target: a.targets[0], threads: run.threads });
  return { target: a.targets[0], metric: e.settings, curve: Array.from(e.curves[0]), aopc: e.aopc[0], auc: e.auc[0], seconds: { attribute } };
}

/** The randomisation test: the method run again on the model randomised stage by stage (its own map is one of those runs). */
async function randomised(model: Model, input: Float32Array, m: MethodItem, options: RandomisationOptions): Promise<Measured> {
  const r = await randomisation(model, input, { method: m.method, ...m.params }, options);
  return { target: r.targets[0], metric: { ...r.settings, layers: parameterLayers(model.graph).length }, curve: Array.from(r.correlations[0]), correlation: { mean: r.mean[0], last: r.last[0] } };
}

/** Fails, naming --metric, if the metric's options do not fit inputs of `shape` (each evaluation reports its settings in full). */
function checkMetric(options: Omit<EvaluateOptions, 'target' | 'threads'>, o: EvaluateCliOptions, shape: readonly number[], model?: Model): Record<string, unknown> {
  if (o.metric === 'randomisation') {
    const layers = model ? parameterLayers(model.graph).length : Infinity;
    if (options.steps !== undefined && options.steps > layers) fail('BAD_OPTION', `--metric randomisation: --steps ${options.steps} is more than the model's ${layers} layers with parameters`);
    return { steps: options.steps ?? layers };
  }
  try {
    return resolveMetric(options as EvaluateOptions, shape, shape[0]).settings;
  } catch (e) {
    throw e instanceof RelpropError ? new RelpropError(e.code, `--metric ${o.metric}: ${e.message}`) : e;
  }
}

