import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { explainImages, npyOf, panelOf } from '../app/explain-image.js';
import { resolveComposite } from '../composites.js';
import { fail } from '../errors.js';
import { COLORMAPS } from '../render/colormaps.js';
import { NORMALIZATIONS, normalizationOf, type Normalization } from '../render/heatmap.js';
import { imagesOf, inShard, parseShard } from './inputs.js';
import { makeDirs, outputStems, prepareOutputDir, writeAtomically } from './output.js';
import { Progress } from './progress.js';
import { resolveModel, type ModelOptions } from './resolve-model.js';
import { MAX_THREADS } from '../wasm/constants.generated.js';

export interface ExplainCliOptions extends ModelOptions {
  composite: string;
  target: string;
  topk: string;
  out: string;
  cmap: string;
  overlay: string;
  normalize?: string;
  clip?: string;
  npy?: boolean;
  json?: boolean;
  backend: string;
  threads?: string;
  batch?: string;
  shard?: string;
}

function number(v: string, what: string, lo: number, hi: number, integer = false): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < lo || n > hi || (integer && !Number.isInteger(n))) {
    fail('BAD_OPTION', `${what} must be ${integer ? 'a whole number' : 'a number'} from ${lo} to ${hi}, got "${v}"`);
  }
  return n;
}

export async function explainCommand(images: string[], o: ExplainCliOptions): Promise<void> {
  // Check every option before the (possibly long) model load.
  const composite = resolveComposite(o.composite).name;
  const topk = number(o.topk, '--topk', 1, 1000, true);
  const overlay = number(o.overlay, '--overlay', 0, 1);
  const clipPercentile = o.clip === undefined ? undefined : number(o.clip, '--clip', 0.01, 100);
  if (!COLORMAPS[o.cmap]) fail('BAD_OPTION', `unknown colour map "${o.cmap}"; known: ${Object.keys(COLORMAPS).join(', ')}`);
  if (o.normalize !== undefined && !NORMALIZATIONS.includes(o.normalize as Normalization)) fail('BAD_OPTION', `unknown --normalize "${o.normalize}"; known: ${NORMALIZATIONS.join(', ')}`);
  const normalize = normalizationOf({ cmap: o.cmap, normalize: o.normalize as Normalization | undefined });
  if (COLORMAPS[o.cmap].signed !== (normalize === 'symmetric')) {
    console.error(`relprop: note: --cmap ${o.cmap} is ${COLORMAPS[o.cmap].signed ? 'signed (zero in its middle)' : 'one-sided'}, and --normalize ${normalize} ${normalize === 'symmetric' ? 'puts zero at its middle colour' : 'puts zero at its first colour'}`);
  }
  if (o.backend !== 'wasm' && o.backend !== 'reference') fail('BAD_OPTION', `--backend must be wasm or reference, got "${o.backend}"`);
  const threads = o.threads === undefined ? undefined : number(o.threads, '--threads', 1, MAX_THREADS, true);

  const all = imagesOf(images);
  const shard = o.shard === undefined ? undefined : parseShard(o.shard);
  const batch = number(o.batch ?? '1', '--batch', 1, 1024, true);
  // Output names come from the whole list, so that shards name each image as one run of all does.
  const stems = outputStems(all).map((s) => join(o.out, `${s}.${composite}`));
  const mine = all.map((file, i) => ({ file, stem: stems[i] })).filter((_, i) => !shard || inShard(i, shard));
  const outputsOf = (stem: string) => ({ panel: `${stem}.png`, ...(o.npy ? { npy: `${stem}.npy` } : {}) });
  prepareOutputDir(o.out);
  // Every file is renamed into place whole, so a run killed part-way leaves only finished ones. With
  // --shard (the resumable mode: --shard 1/1 for all) what is finished is skipped, and a restart picks
  // up where it stopped; without it, outputs are written anew.
  const todo = shard ? mine.filter(({ stem }) => !Object.values(outputsOf(stem)).every((f) => existsSync(f))) : mine;
  const skipped = mine.filter((m) => !todo.includes(m));
  const progress = new Progress(o.json);
  const model = await resolveModel(o, progress);
  const modelName = model.info.name ?? o.model ?? o.arch ?? 'model';
  const began = Date.now();
  const results: Record<string, unknown>[] = skipped.map(({ file, stem }) => ({ image: file, files: outputsOf(stem), skipped: true }));
  const batches = Math.ceil(todo.length / batch);
  progress.start(todo.length, batches > 1 ? `explaining, batch 1/${batches}` : 'explaining');
  for (let b = 0; b < batches; b++) {
    const group = todo.slice(b * batch, (b + 1) * batch);
    if (batches > 1) progress.start(todo.length, `explaining, batch ${b + 1}/${batches}`);
    progress.update(b * batch, group.map(({ file }) => basename(file)).join(', '));
    const xs = await explainImages(model, group.map(({ file }) => file), { composite, target: o.target, topk, backend: o.backend as 'wasm' | 'reference', threads });
    for (const [j, x] of xs.entries()) {
      const { file, stem } = group[j];
      makeDirs(dirname(stem));
      const panel = await panelOf(x, { modelName, cmap: o.cmap, overlay, normalize, clipPercentile });
      const files = outputsOf(stem);
      writeAtomically(files.panel, panel.png);
      if (files.npy) writeAtomically(files.npy, npyOf(x));
      const sum = x.relevance.reduce((a, c) => a + c, 0);
      results.push({ image: file, top: x.top, target: x.target, relevanceSum: sum, files, panelSize: [panel.width, panel.height], milliseconds: x.milliseconds });
      progress.update(b * batch + j + 1, basename(file));
      if (!o.json) {
        progress.stop();
        console.log(`${file}`);
        for (const [r, c] of x.top.entries()) console.log(`  ${String(r + 1).padStart(2)}. ${c.label.padEnd(28)} ${c.probability.toFixed(4)}  (class ${c.index})`);
        console.log(`  explained ${x.target.label} (class ${x.target.index}) with ${composite}; relevance sums to ${sum.toPrecision(4)}`);
        for (const f of Object.values(files)) console.log(`  wrote ${f}`);
        if (b * batch + j + 1 < todo.length) progress.start(todo.length, batches > 1 ? `explaining, batch ${b + 1}/${batches}` : 'explaining');
      }
    }
  }
  progress.stop();
  if (skipped.length && !o.json) console.log(`skipped ${skipped.length} image${skipped.length > 1 ? 's' : ''} whose outputs are in ${o.out} already`);
  const summary = { model: { name: modelName, arch: model.info.arch, input: model.inputShape }, composite, ...(shard ? { shard: `${shard.k}/${shard.n}` } : {}), explained: todo.length, skipped: skipped.length, seconds: (Date.now() - began) / 1000, images: results };
  if (shard) writeAtomically(join(o.out, `relprop-summary-${shard.k}-of-${shard.n}.json`), new TextEncoder().encode(JSON.stringify(summary, null, 2) + '\n'));
  if (o.json) console.log(JSON.stringify(summary, null, 2));
}
