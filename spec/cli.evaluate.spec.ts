/**
 * `relprop evaluate` end to end on a small built model: the table, the plot (SVG and PNG) and the
 * records; curves equal to the library's evaluate; a rerun resumes and other settings write other
 * names; a photo that cannot be read costs only itself (exit 3); shards merged give the whole run's
 * table; bad options fail before the model loads.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeImage } from '../src/image/decode.js';
import { preprocessImage } from '../src/image/preprocess.js';
import { buildModel, evaluate, Model, randomisation } from '../src/index.js';
import { PREPROCESSING } from '../src/model/preprocessing.js';
import { relprop, ROOT } from './helpers/cli.js';

const SMALL = ['--arch', 'resnet18', '--input-size', '64', '--width', '8'];
const FAST = ['--methods', 'lrp:epsilon-plus-flat,gradient,grad-cam', '--steps', '6', '--threads', '1'];

function photos(): string {
  const dir = mkdtempSync(join(tmpdir(), 'relprop-evp-'));
  for (const f of ['chelsea.png', 'coffee.png', 'rocket.jpg']) copyFileSync(join(ROOT, 'examples', f), join(dir, f));
  return dir;
}
const tableRows = (stdout: string) => stdout.split('\n').filter((l) => /^\| (lrp|gradient|grad-cam)/.test(l));
const records = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.eval.json')).sort();

describe('relprop evaluate', () => {
  it('prints the table, writes the plot and one record a photo and method, equal to the library', async () => {
    const dir = photos();
    const out = mkdtempSync(join(tmpdir(), 'relprop-ev-'));
    const r = await relprop('evaluate', dir, ...SMALL, ...FAST, '--out', out, '--csv');
    expect(r.code, r.stderr).toBe(0);
    const rows = tableRows(r.stdout);
    expect(rows).toHaveLength(3);
    expect(rows[0]).toMatch(/^\| lrp:epsilon-plus-flat \| -?\d\.\d{4} \| \d\.\d{4} \| 3 \| \d+\.\d\d \|$/);
    const files = readdirSync(out);
    const base = files.find((f) => /^relprop-evaluate\.[0-9a-f]{8}\.svg$/.test(f))!.replace(/\.svg$/, '');
    for (const ext of ['png', 'json', 'csv']) expect(files).toContain(`${base}.${ext}`);
    expect(readFileSync(join(out, `${base}.svg`), 'utf8')).toMatch(/<svg[\s\S]*epsilon-plus-flat[\s\S]*<\/svg>/);
    expect(statSync(join(out, `${base}.png`)).size).toBeGreaterThan(10_000);
    expect(records(out)).toHaveLength(9);
    expect(readFileSync(join(out, `${base}.csv`), 'utf8').split('\n').filter(Boolean)).toHaveLength(10);
    // The record of chelsea's gradient equals the library's evaluate of the same attribution.
    const rec = JSON.parse(readFileSync(join(out, records(out).find((f) => f.startsWith('chelsea.gradient.'))!), 'utf8'));
    const m = buildModel('resnet18', { inputSize: 64, width: 8 });
    const model = new Model(m.graph, { ...m.info, preprocessing: { ...PREPROCESSING.torchvision, size: [64, 64], resizeShorter: 73 } });
    const x = preprocessImage(await decodeImage(join(dir, 'chelsea.png')), model.info.preprocessing!, 3).input;
    const a = await model.attribute(x, { method: 'gradient', threads: 1 });
    const e = await evaluate(model, x, a.attribution, { metric: 'region-perturbation', steps: 6, target: a.targets[0], threads: 1 });
    expect(rec.curve).toEqual(Array.from(e.curves[0]));
    expect(rec.metric).toMatchObject({ metric: 'region-perturbation', patch: 8, steps: 6, order: 'morf', fill: 'black' });

    // Again: nothing recomputed (the records stay as they were); other settings write other records.
    const before = records(out).map((f) => statSync(join(out, f)).mtimeMs);
    const again = await relprop('evaluate', dir, ...SMALL, ...FAST, '--out', out);
    expect(tableRows(again.stdout)).toEqual(rows);
    expect(records(out).map((f) => statSync(join(out, f)).mtimeMs)).toEqual(before);
    const other = await relprop('evaluate', dir, ...SMALL, ...FAST, '--patch', '16', '--out', out);
    expect(other.code).toBe(0);
    expect(records(out)).toHaveLength(18);
  }, 300_000);

  it('shards merged give the whole run\'s table; a photo that cannot be read fails alone', async () => {
    const dir = photos();
    writeFileSync(join(dir, 'broken.png'), 'not a png');
    const [whole, a, b, merged] = [0, 1, 2, 3].map(() => mkdtempSync(join(tmpdir(), 'relprop-evs-')));
    const full = await relprop('evaluate', dir, ...SMALL, ...FAST, '--out', whole);
    expect(full.code).toBe(3);
    expect(full.stderr).toMatch(/failed: .*broken\.png/);
    expect(tableRows(full.stdout)).toHaveLength(3);
    // Sorted, broken.png is the first photo: shard 1 of 2 holds it (and coffee.png), shard 2 the others.
    expect((await relprop('evaluate', dir, ...SMALL, ...FAST, '--shard', '1/2', '--out', a)).code).toBe(3);
    expect((await relprop('evaluate', dir, ...SMALL, ...FAST, '--shard', '2/2', '--out', b)).code).toBe(0);
    expect(records(a)).toHaveLength(3);
    expect(records(b)).toHaveLength(6);
    // The merge lists the failure shard 1 recorded (broken.png), and says so by its exit code.
    const m = await relprop('evaluate', '--merge', a, b, '--out', merged);
    expect(m.code, m.stderr).toBe(3);
    expect(m.stderr).toMatch(/listed 1 failed evaluation/);
    expect(JSON.parse(readFileSync(join(merged, readdirSync(merged).find((f) => f.endsWith('.json'))!), 'utf8')).failures[0].image).toMatch(/broken\.png$/);
    const sort = (rows: string[]) => rows.map((r) => r.replace(/\| [\d.]+ \|$/, '|')).sort();
    expect(sort(tableRows(m.stdout))).toEqual(sort(tableRows(full.stdout)));
  }, 300_000);

  it('a run over a folder holding its own output does not take its plots for photos', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'relprop-evo-'));
    copyFileSync(join(ROOT, 'examples', 'chelsea.png'), join(dir, 'chelsea.png'));
    const args = ['evaluate', dir, ...SMALL, '--methods', 'gradient', '--steps', '3', '--threads', '1', '--out', join(dir, 'out')];
    const first = await relprop(...args);
    expect(first.code, first.stderr).toBe(0);
    const again = await relprop(...args);
    expect(tableRows(again.stdout)[0]).toMatch(/^\| gradient \| .* \| 1 \|/);
    expect(again.stdout).toMatch(/1 of 1 evaluations recorded before/);
    // More steps than the 64 x 64 input has 8 x 8 regions: said, and each curve takes 64.
    const capped = await relprop(...args.map((a) => (a === '3' ? '1000' : a)));
    expect(capped.stderr).toMatch(/--steps 1000 is more than the 64 regions a 64 x 64 input has: each curve takes 64/);
  }, 120_000);

  it('photos of the same name in two folders get their own records; a folder merged twice counts once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'relprop-evn-'));
    for (const [sub, f] of [['a', 'chelsea.png'], ['b', 'coffee.png']]) {
      mkdirSync(join(dir, sub));
      copyFileSync(join(ROOT, 'examples', f), join(dir, sub, 'photo.png'));
    }
    const out = mkdtempSync(join(tmpdir(), 'relprop-ev-'));
    const r = await relprop('evaluate', dir, ...SMALL, '--methods', 'gradient', '--steps', '4', '--threads', '1', '--out', out);
    expect(r.code, r.stderr).toBe(0);
    expect(tableRows(r.stdout)[0]).toMatch(/^\| gradient \| .* \| 2 \|/);
    expect(readdirSync(join(out, 'a')).filter((f) => f.endsWith('.eval.json'))).toHaveLength(1);
    expect(readdirSync(join(out, 'b')).filter((f) => f.endsWith('.eval.json'))).toHaveLength(1);
    const m = await relprop('evaluate', '--merge', out, out, '--out', mkdtempSync(join(tmpdir(), 'relprop-evm-')));
    expect(m.code, m.stderr).toBe(0);
    expect(tableRows(m.stdout)[0]).toMatch(/^\| gradient \| .* \| 2 \|/);
  }, 120_000);

  it('--metric randomisation: a table of rank correlations, the cascade plotted, records equal to the library', async () => {
    const dir = photos();
    const o = mkdtempSync(join(tmpdir(), 'relprop-evr-'));
    const r = await relprop('evaluate', join(dir, 'chelsea.png'), join(dir, 'coffee.png'), ...SMALL, '--metric', 'randomisation', '--steps', '3', '--methods', 'gradient,grad-cam', '--threads', '1', '--out', o, '--csv');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/\| method \| rank correlation mean \| s\.d\. \| images \| s \/ image \|/);
    expect(tableRows(r.stdout)).toHaveLength(2);
    const files = readdirSync(o);
    const base = files.find((f) => /^relprop-evaluate\.[0-9a-f]{8}\.svg$/.test(f))!.replace(/\.svg$/, '');
    const svg = readFileSync(join(o, `${base}.svg`), 'utf8');
    expect(svg).toMatch(/randomisation \(top down, cascading\), 2 images/);
    expect(svg).toMatch(/layers with parameters, randomised from the top/);
    expect(readFileSync(join(o, `${base}.csv`), 'utf8')).toMatch(/^image,method,target,correlation_mean,correlation_last,/);
    const rec = JSON.parse(readFileSync(join(o, records(o).find((f) => f.startsWith('chelsea.gradient.'))!), 'utf8'));
    const m = buildModel('resnet18', { inputSize: 64, width: 8 });
    const model = new Model(m.graph, { ...m.info, preprocessing: { ...PREPROCESSING.torchvision, size: [64, 64], resizeShorter: 73 } });
    const x = preprocessImage(await decodeImage(join(dir, 'chelsea.png')), model.info.preprocessing!, 3).input;
    const lib = await randomisation(model, x, { method: 'gradient' }, { steps: 3, threads: 1 });
    expect(rec.curve).toEqual(Array.from(lib.correlations[0]));
    expect(rec.correlation).toEqual({ mean: lib.mean[0], last: lib.last[0] });
    expect(rec.metric).toMatchObject({ metric: 'randomisation', steps: 3, order: 'top-down cascading' });
    // The perturbation metrics' parameters are refused with it, before the model loads.
    const patch = await relprop('evaluate', dir, '--model', '/no/such/model.onnx', '--metric', 'randomisation', '--patch', '8', '--out', o);
    expect(patch.code).toBe(1);
    expect(patch.stderr).toMatch(/randomisation takes --steps and --seed, not --patch/);
  }, 120_000);

  it('bad options fail clearly: all but the sizes before the model loads, every method\'s parameters before any photo', async () => {
    const dir = photos();
    const out = () => mkdtempSync(join(tmpdir(), 'relprop-evb-'));
    // Before the model loads: a missing model file is not even looked for.
    for (const [args, re] of [
      [['--methods', 'lrp:epsilon-plus-flat,saliency'], /unknown method "saliency"/],
      [['--methods', 'gradient,gradient'], /lists "gradient" twice/],
      [['--metric', 'aopc'], /unknown --metric "aopc"/],
      [['--metric', 'region-pertubation'], /unknown --metric "region-pertubation" \(did you mean "region-perturbation"\?\)/],
      [['--fill', 'grey'], /unknown fill "grey"/],
      [['--steps', '0'], /--steps must be a whole number/],
    ] as const) {
      const r = await relprop('evaluate', dir, '--model', '/no/such/model.onnx', ...args, '--out', out());
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(re);
    }
    // After it, before any photo: sizes, and each method's own parameters (no record is written); the
    // run's options are the command's flags, not a method's.
    for (const [args, re] of [
      [['--patch', '65'], /patch must be at most/],
      [['--methods', 'gradient,integrated-gradients:stpes=16'], /stpes/],
      [['--methods', 'occlusion:window=999'], /window/],
      [['--methods', 'gradient:method=lrp'], /method/],
      [['--methods', 'gradient:target=3'], /target/],
      [['--methods', 'gradient:batch=2'], /batch/],
    ] as const) {
      const o = out();
      const r = await relprop('evaluate', dir, ...SMALL, ...args, '--out', o);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(re);
      expect(records(o)).toEqual([]);
    }
    // A parameter of another metric, refused before the load too.
    const patch = await relprop('evaluate', dir, '--model', '/no/such/model.onnx', '--metric', 'deletion', '--patch', '16', '--out', out());
    expect(patch.code).toBe(1);
    expect(patch.stderr).toMatch(/patch is region-perturbation's/);
    const none = await relprop('evaluate', '--merge', dir, '--out', out());
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/no evaluation records/);
    const file = await relprop('evaluate', '--merge', join(dir, 'chelsea.png'), '--out', out());
    expect(file.code).toBe(1);
    expect(file.stderr).toMatch(/"[^"]*chelsea\.png" is a file/);
    const flags = await relprop('evaluate', '--merge', dir, '--metric', 'deletion', '--methods', 'gradient', '--out', out());
    expect(flags.code).toBe(1);
    expect(flags.stderr).toMatch(/--methods, --metric cannot be given with it|--metric, --methods cannot be given with it/);
  }, 120_000);
});
