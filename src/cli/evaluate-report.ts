/**
 * The summary of `relprop evaluate`'s records: the table (stdout), the curves as a plot (SVG by Vega-Lite
 * and Vega, PNG by resvg) and the records in one file; and `--merge`, which makes it of shards' records.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fail } from '../errors.js';
import { curvesSvg } from '../evaluation/curves-plot.js';
import { readRecord, type EvalRecord, type EvaluationSettings } from './evaluate-records.js';
import { prepareOutputDir, writeAtomically } from './output.js';
import { settingsKey } from './run-settings.js';
import { svgToPng } from './svg-png.js';
import { EXIT_SOME_FAILED } from './explain.js';

/** The command's options a summary reads. */
export interface ReportOptions {
  out: string;
  json?: boolean;
  csv?: boolean;
}

/** The number a table shows per photo, and its column's name. */
function headline(metric: string): { name: string; of: (r: EvalRecord) => number } {
  if (metric === 'randomisation') return { name: 'rank correlation', of: (r) => r.correlation!.mean };
  const key = metric === 'deletion' || metric === 'insertion' ? 'auc' : 'aopc';
  return { name: key.toUpperCase(), of: (r) => r[key]! };
}

/** The plot's title and axes. */
function plotLabels(metric: string, records: EvalRecord[]): { title: string; x: string; y: string } {
  const m = records[0].metric;
  const images = new Set(records.map((r) => r.image)).size;
  const of = `${images} image${images > 1 ? 's' : ''}: mean and its standard error`;
  if (metric === 'randomisation') {
    return { title: `randomisation (top down, cascading), ${of}`, x: `stages (${m.layers} layers with parameters, randomised from the top)`, y: "rank correlation with the model's own |map|" };
  }
  return {
    title: `${metric} (${m.order}, fill ${m.fill}), ${of}`,
    x: metric === 'region-perturbation' ? `regions perturbed (${m.patch} x ${m.patch})` : `steps (${m.pixelsPerStep} ${metric === 'pixel-flipping' ? 'values flipped' : metric === 'deletion' ? 'pixels deleted' : 'pixels inserted'} each)`,
    y: m.score === 'logit' ? 'logit of the class' : 'probability of the class',
  };
}

/**
 * `--merge DIR...`: the records in the folders (shards' of one evaluation), as one table and plot for
 * each set of settings they hold. A photo recorded more than once for a method (changed between runs)
 * counts once, as it was last recorded; failures the runs listed are listed again.
 */
export async function mergeCommand(dirs: string[], o: ReportOptions): Promise<void> {
  if (dirs.length === 0) fail('BAD_OPTION', '--merge needs the folders the shards wrote');
  const latest = new Map<string, EvalRecord>();
  const failures: unknown[] = [];
  // The methods in the order the runs listed them (--methods), so rows and colours keep it.
  const order: string[] = [];
  for (const dir of dirs) {
    let isDir = false;
    try {
      isDir = statSync(dir).isDirectory();
    } catch {
      fail('NOT_FOUND', `no folder "${dir}"`);
    }
    if (!isDir) fail('BAD_OPTION', `--merge takes the folders the runs wrote into; "${dir}" is a file`);
    for (const f of (readdirSync(dir, { recursive: true }) as string[]).sort()) {
      if (f.endsWith('.eval.json')) {
        const r = readRecord(join(dir, f));
        if (!r) continue;
        const id = `${r.runKey} ${resolve(r.image)} ${r.method.label}`;
        const had = latest.get(id);
        if (!had || (r.photo?.modified ?? '') > (had.photo?.modified ?? '')) latest.set(id, r);
      } else if (/(^|\/)relprop-evaluate\.[^/]*\.json$/.test(f)) {
        const summary = readSummary(join(dir, f));
        failures.push(...(summary?.failures ?? []));
        for (const row of summary?.rows ?? []) if (!order.includes(row.method)) order.push(row.method);
      }
    }
  }
  if (latest.size === 0) fail('NOT_FOUND', `no evaluation records (*.eval.json) in ${dirs.join(', ')}`);
  prepareOutputDir(o.out);
  const runs = new Map<string, EvalRecord[]>();
  for (const r of latest.values()) runs.set(r.runKey, [...(runs.get(r.runKey) ?? []), r]);
  if (runs.size > 1 && !o.json) console.log(`the folders hold ${runs.size} evaluations with different settings: a table for each`);
  for (const records of runs.values()) {
    const rank = (m: string) => (order.includes(m) ? order.indexOf(m) : order.length);
    const methods = [...new Set(records.map((r) => r.method.label))].sort((a, b) => rank(a) - rank(b));
    const photos = [...new Set(records.map((r) => resolve(r.image)))].sort();
    const short = methods.filter((m) => records.filter((r) => r.method.label === m).length < photos.length);
    if (short.length) console.error(`relprop: note: ${short.join(', ')} ${short.length > 1 ? 'have' : 'has'} fewer photos than the others (${photos.length}): their means are over fewer`);
    await report(records, methods, o, `relprop-evaluate.${settingsKey({ runKey: records[0].runKey, methods, photos })}`, records[0].settings, failures);
  }
  if (failures.length) {
    console.error(`relprop: the runs merged listed ${failures.length} failed evaluation${failures.length > 1 ? 's' : ''} (in the summary's failures)`);
    process.exitCode = EXIT_SOME_FAILED;
  }
}

/** A summary written by a run (its failures, its rows in --methods order), if readable. */
function readSummary(path: string): { failures?: unknown[]; rows?: { method: string }[] } | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as { failures?: unknown[]; rows?: { method: string }[] };
  } catch {
    return undefined;
  }
}

/** The table (stdout), the plot (SVG, PNG) and the records in one file (JSON; CSV with --csv). */
export async function report(records: EvalRecord[], methods: string[], o: ReportOptions, name: string, settings: EvaluationSettings, failures: unknown[]): Promise<void> {
  const metric = String(settings.metric.metric);
  const score = headline(metric);
  const rows = methods.map((label) => {
    const mine = records.filter((r) => r.method.label === label);
    const v = mine.map(score.of);
    const mean = v.reduce((s, x) => s + x, 0) / Math.max(1, v.length);
    const sd = v.length > 1 ? Math.sqrt(v.reduce((s, x) => s + (x - mean) ** 2, 0) / (v.length - 1)) : 0;
    const seconds = mine.reduce((s, r) => s + r.seconds.attribute + r.seconds.evaluate, 0) / Math.max(1, mine.length);
    return { method: label, images: v.length, [score.name]: mean, sd, secondsPerImage: seconds };
  });
  const files = { json: join(o.out, `${name}.json`), svg: join(o.out, `${name}.svg`), png: join(o.out, `${name}.png`), ...(o.csv ? { csv: join(o.out, `${name}.csv`) } : {}) };
  const series = methods.map((m) => ({ method: m, curves: records.filter((r) => r.method.label === m).map((r) => r.curve) })).filter((s) => s.curves.length > 0);
  if (series.length > 0) {
    const svg = await curvesSvg(series, plotLabels(metric, records));
    writeAtomically(files.svg, new TextEncoder().encode(svg));
    writeAtomically(files.png, await svgToPng(svg));
  }
  const summary = { settings, rows, failures, files, records: records.map(({ settings: _, ...r }) => r) };
  writeAtomically(files.json, new TextEncoder().encode(JSON.stringify(summary, null, 1) + '\n'));
  if (files.csv) {
    const [scores, values] = metric === 'randomisation' ? ['correlation_mean,correlation_last', (r: EvalRecord) => [r.correlation!.mean, r.correlation!.last]] : ['aopc,auc', (r: EvalRecord) => [r.aopc, r.auc]];
    const lines = [`image,method,target,${scores},attribute_s,evaluate_s,curve`, ...records.map((r) => [JSON.stringify(r.image), JSON.stringify(r.method.label), r.target.index, ...values(r), r.seconds.attribute.toFixed(3), r.seconds.evaluate.toFixed(3), JSON.stringify(r.curve.join(' '))].join(','))];
    writeAtomically(files.csv, new TextEncoder().encode(lines.join('\n') + '\n'));
  }
  if (o.json) {
    console.log(JSON.stringify({ settings, rows, failures, files }, null, 1));
    return;
  }
  const head = `| method | ${score.name} mean | s.d. | images | s / image |`;
  console.log(head);
  console.log('| --- | --- | --- | --- | --- |');
  const shown = (v: number) => (Number.isNaN(v) ? 'n/a' : v.toFixed(4));
  for (const r of rows) console.log(`| ${r.method} | ${r.images ? shown(r[score.name] as number) : 'n/a'} | ${r.images > 1 ? shown(r.sd) : 'n/a'} | ${r.images} | ${r.images ? r.secondsPerImage.toFixed(2) : 'n/a'} |`);
  // A constant map has no ranks: its correlation is undefined (as scipy's), and so is any mean over it.
  for (const m of methods) {
    const undefinedAt = records.filter((r) => r.method.label === m && r.curve.some(Number.isNaN));
    const stages = undefinedAt.reduce((s, r) => s + r.curve.filter(Number.isNaN).length, 0);
    if (stages) console.log(`${m}: the map was constant (no ranks: the correlation undefined) at ${stages} stage${stages > 1 ? 's' : ''} of ${undefinedAt.length} photo${undefinedAt.length > 1 ? 's' : ''}`);
  }
  for (const f of Object.values(files)) if (existsSync(f)) console.log(`wrote ${f}`);
}
