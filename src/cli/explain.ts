import { existsSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { explainImage, npyOf, panelOf } from '../app/explain-image.js';
import { resolveComposite } from '../composites.js';
import { fail } from '../errors.js';
import { COLORMAPS } from '../render/colormaps.js';
import { NORMALIZATIONS, normalizationOf, type Normalization } from '../render/heatmap.js';
import { makeDirs, outputStems, prepareOutputDir } from './output.js';
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

  for (const file of images) if (!existsSync(file)) fail('NOT_FOUND', `no image file "${file}"`);
  const stems = outputStems(images).map((s) => join(o.out, `${s}.${composite}`));
  prepareOutputDir(o.out);
  const progress = new Progress(o.json);
  const model = await resolveModel(o, progress);
  const modelName = model.info.name ?? o.model ?? o.arch ?? 'model';
  const results = [];
  progress.start(images.length, 'explaining');
  for (const [i, file] of images.entries()) {
    progress.update(i, basename(file));
    const x = await explainImage(model, file, { composite, target: o.target, topk, backend: o.backend as 'wasm' | 'reference', threads });
    const stem = stems[i];
    makeDirs(dirname(stem));
    const panel = await panelOf(x, { modelName, cmap: o.cmap, overlay, normalize, clipPercentile });
    writeFileSync(`${stem}.png`, panel.png);
    const files: Record<string, string> = { panel: `${stem}.png` };
    if (o.npy) {
      writeFileSync(`${stem}.npy`, npyOf(x));
      files.npy = `${stem}.npy`;
    }
    const sum = x.relevance.reduce((a, b) => a + b, 0);
    results.push({ image: file, top: x.top, target: x.target, relevanceSum: sum, files, panelSize: [panel.width, panel.height], milliseconds: x.milliseconds });
    if (!o.json) {
      progress.stop();
      console.log(`${file}`);
      for (const [r, c] of x.top.entries()) console.log(`  ${String(r + 1).padStart(2)}. ${c.label.padEnd(28)} ${c.probability.toFixed(4)}  (class ${c.index})`);
      console.log(`  explained ${x.target.label} (class ${x.target.index}) with ${composite}; relevance sums to ${sum.toPrecision(4)}`);
      for (const f of Object.values(files)) console.log(`  wrote ${f}`);
      if (i + 1 < images.length) progress.start(images.length, 'explaining');
    }
  }
  progress.stop();
  if (o.json) {
    console.log(JSON.stringify({ model: { name: modelName, arch: model.info.arch, input: model.inputShape }, composite, images: results }, null, 2));
  }
}
