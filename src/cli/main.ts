#!/usr/bin/env node
import { Command, Option } from 'commander';
import { COMPOSITES, DEFAULT_COMPOSITE, resolveComposite, TRANSFORMER_COMPOSITE } from '../composites.js';
import { RelpropError } from '../errors.js';
import { ARCHITECTURES } from '../architectures/index.js';
import { PREPROCESSING } from '../model/preprocessing.js';
import { COLORMAPS } from '../render/colormaps.js';
import { RULES } from '../rules/index.js';
import { enableRelaxedSimd } from './relaxed-simd.js';
import { DEFAULT_MODEL } from '../io/registry/default-model.js';

enableRelaxedSimd();

// `relprop info | head` closes the pipe early: that is not an error.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

const program = new Command();
program
  .name('relprop')
  .description('Layer-wise Relevance Propagation for image classifiers')
  .version('0.1.0')
  .showHelpAfterError('(add --help for usage)')
  // One style for every error: commander's own ("error: unknown option") too.
  .configureOutput({ outputError: (text, write) => write(`relprop: ${text}`) });

const modelOptions = (cmd: Command) =>
  cmd
    .option('--model <name|file>', `a known model name (see \`relprop models\`), an .onnx file or a Keras/TF.js model.json (default: ${DEFAULT_MODEL})`)
    .option('--arch <arch>', 'instead of --model: build this architecture (see `relprop architectures`), with seeded random weights or those of --weights')
    .option('--weights <file>', 'with --arch: a state dict (.safetensors, .pth/.pt/.bin, .pdparams; torchvision, timm or Paddle names)')
    .option('--preprocessing <preset>', `how photos become inputs, instead of the model's own: ${Object.keys(PREPROCESSING).join(', ')}`)
    .option('--input-size <HxW>', 'input height and width (N for square) for a model that leaves them free (ONNX dynamic axes, TF.js graph models), or the size --arch builds')
    .option('--labels <file>', 'class names: a JSON list, a JSON object of index -> label, or one label a line (1000-class models without labels get ImageNet\'s)')
    .addOption(new Option('--width <n>', 'with --arch: channels of the first stage').hideHelp())
    .addOption(new Option('--weight-seed <n>', 'with --arch: weight seed').hideHelp());

modelOptions(
  program
    .command('explain')
    .description('explain what a model sees in photos: prints the top classes, writes photo | heatmap | overlay panels')
    .argument('<images...>', 'PNG, JPEG, BMP, GIF or TIFF files, folders (searched recursively) or glob patterns; images explained before with the same settings are not explained again'),
)
  .option('--composite <name>', `LRP composite (see \`relprop composites\`; default ${DEFAULT_COMPOSITE}, for a transformer ${TRANSFORMER_COMPOSITE})`)
  .option('--method <name>', 'lrp, gradient, gradient-x-input, integrated-gradients, smoothgrad, grad-cam, occlusion or lime (README: Methods)', 'lrp')
  .option('--steps <n>', 'integrated-gradients: points on the path (default 50)')
  .option('--integration <rule>', 'integrated-gradients: gauss-legendre (default), riemann-left, riemann-right, riemann-middle or riemann-trapezoid')
  .option('--baseline <value>', 'integrated-gradients: the start of the path, one value for every input element (default 0)')
  .option('--samples <n>', 'smoothgrad: noisy copies (default 50); lime: masks (default 1000)')
  .option('--noise <fraction>', "smoothgrad: noise's standard deviation as a fraction of the input's max - min (default 0.1)")
  .option('--inner <method>', 'smoothgrad: the method averaged (default gradient; lrp uses --composite)')
  .option('--layer <node>', 'grad-cam: the node whose output is weighted (default: the last spatial activation)')
  .option('--window <N|HxW>', 'occlusion: the window filled (default 8)')
  .option('--stride <N|HxW>', 'occlusion: the step between windows (default: the window)')
  .option('--fill <value|mean>', 'occlusion: what a window is filled with (default 0); lime: a number or mean, each channel\'s (default)')
  .option('--segments <slic|grid>', 'lime: SLIC superpixels of the photo (default) or 16-pixel squares')
  .option('--seed <n>', 'smoothgrad, lime: the random seed (default 0; a run repeats exactly)')
  .option('--target <top1|index|label>', 'class to explain', 'top1')
  .option('--topk <k>', 'classes to print', '5')
  .option('--out <dir>', 'where to write the panels', 'relprop-out')
  .addOption(new Option('--cmap <name>', 'colour map (default: bwr, hot for grad-cam)').choices(Object.keys(COLORMAPS)))
  .option('--overlay <opacity>', 'opacity of the heatmap over the photo, 0 to 1', '0.5')
  .option('--normalize <mode>', 'symmetric (0 in the middle of the colour map), absolute (|R|) or minmax (default: symmetric for the signed colour maps, absolute for hot and gray)')
  .option('--clip <percentile>', 'saturate the colours at this percentile of |relevance| (100: at the largest)', '99.5')
  .option('--npy', 'also write the raw relevance as a NumPy .npy file, shape (1, 3, H, W)')
  .option('--json', 'print a machine-readable result instead of text')
  .option('--backend <engine>', 'wasm (SIMD) or reference (float64 TypeScript)', 'wasm')
  .option('--threads <n>', 'threads the wasm engine uses (default: the cores, at most 8; results do not depend on it)')
  .option('--batch <n>', 'images explained together in one pass (default 1; results do not depend on it)')
  .option('--shard <K/N>', 'explain only the K-th of N deterministic slices of the images (for array jobs); writes OUT/relprop-summary.SETTINGS.K-of-N.json')
  .option('--fail-fast', 'stop at the first image that cannot be explained (default: go on, list the failures, exit with 3)')
  // Each command imports what it needs when it runs: `relprop --help` loads no importer, codec or kernel.
  .action(async (images, o) => (await import('./explain.js')).explainCommand(images, o));

modelOptions(
  program
    .command('evaluate')
    .description('measure how faithful explanations are: per photo and method, a curve of the class score while the photo is perturbed in the map\'s order; prints a table (AOPC or AUC over the photos), writes the curves as SVG and PNG')
    .argument('<images...>', 'photos, folders or glob patterns as for explain; with --merge, the folders shards wrote'),
)
  .option('--methods <list>', 'comma-separated: a method, lrp:COMPOSITE, or METHOD:key=value:key=value (integrated-gradients:steps=16); default lrp:epsilon-gamma-box,lrp:epsilon-plus-flat,gradient,grad-cam, for a transformer lrp:cp-lrp,lrp:attnlrp,gradient,gradient-x-input')
  .option('--metric <name>', 'region-perturbation, pixel-flipping, deletion, insertion, or randomisation (the sanity check; README: Faithfulness)', 'region-perturbation')
  .option('--patch <n>', 'region-perturbation: the regions\' side (default 8)')
  .option('--steps <n>', 'perturbation steps (region-perturbation: default 100; the others: until all is perturbed); randomisation: stages (default every layer with parameters)')
  .option('--pixels-per-step <n>', 'pixel-flipping: values a step (default a hundredth); deletion, insertion: pixels a step (default 224)')
  .option('--fill <value>', 'a number, black, white, mean, uniform or blur (defaults: black; deletion 0; insertion blur)')
  .option('--order <order>', 'region-perturbation, pixel-flipping: morf (default), lerf or random')
  .option('--score <score>', 'probability (default) or logit')
  .option('--seed <n>', 'the random order\'s and the uniform fill\'s seed, or randomisation\'s new parameters\' (default 0)')
  .option('--target <top1|index|label>', 'class to explain and score', 'top1')
  .option('--out <dir>', 'where to write the records, the table and the plot', 'relprop-eval')
  .option('--json', 'print the table as JSON')
  .option('--csv', 'also write the records as CSV')
  .option('--threads <n>', 'threads (default: the cores, at most 8; results do not depend on it)')
  .option('--shard <K/N>', 'evaluate only the K-th of N deterministic slices of the photos (for array jobs); a rerun resumes')
  .option('--merge', 'combine the records in the folders given (shards of one evaluation) into one table and plot')
  // The flags given on the command line (not defaults): --merge refuses the ones it would ignore.
  .action(async (images, o, cmd: Command) => (await import('./evaluate.js')).evaluateCommand(images, { ...o, given: Object.keys(o).filter((k) => cmd.getOptionValueSource(k) === 'cli') }));

program
  .command('models')
  .description('list the known model names and whether they are cached')
  .option('--verify', 'check every cached file against the SHA-256 recorded when it was fetched')
  .action(async (o) => (await import('./info.js')).modelsCommand(o));

modelOptions(
  program
    .command('info')
    .description('show a model\'s layers, shapes, parameter counts, and the rule each layer gets under a composite')
    .argument('[model]', `a known model name or a model file (default: ${DEFAULT_MODEL}, or --arch)`),
)
  .option('--composite <name>', `composite whose rules to show (default: the model's, ${DEFAULT_COMPOSITE} or for a transformer ${TRANSFORMER_COMPOSITE})`)
  .action(async (source, o) => (await import('./info.js')).infoCommand(source, o));

modelOptions(
  program
    .command('prepare')
    .description('make a model\'s prepared form in the cache: later loads read relprop\'s own layout instead of importing (a known model\'s is made at its first load)')
    .argument('[model]', `a known model name or a model file (default: ${DEFAULT_MODEL}); or --arch A --weights FILE`),
).action(async (source, o) => (await import('./prepare.js')).prepareCommand(source, o));

program
  .command('composites')
  .description('list the composites and the rules they assign, with the rules\' formulas')
  .action(() => {
    for (const def of COMPOSITES) {
      const c = resolveComposite(def.name);
      const note = c.name === DEFAULT_COMPOSITE ? ' (default)' : c.name === TRANSFORMER_COMPOSITE ? ' (default for transformers)' : '';
      console.log(`${c.name}${note}\n  ${c.description}\n  BatchNorm: ${c.foldBatchNorm ? 'folded' : 'kept (pass)'}; starting relevance: ${c.initial}\n`);
    }
    console.log('rules (x: layer input, w: weights, z_k = sum_i x_i w_ik + b_k, R: relevance):');
    for (const r of RULES) console.log(`  ${r.names[0].padEnd(10)} ${r.formula}${r.names.length > 1 ? `   (also: ${r.names.slice(1).join(', ')})` : ''}`);
  });

program
  .command('demo')
  .description('serve the demo page: explain a photo in your browser, on your machine (the default model is fetched first if needed)')
  .option('--port <n>', 'port to listen on (0: any free one)', '8080')
  .option('--host <address>', 'address to listen on', '127.0.0.1')
  .action(async (o) => (await import('./demo.js')).demoCommand(o));

program
  .command('architectures')
  .description('list the architectures buildModel() and --arch build with seeded random weights')
  .action(() => console.log(ARCHITECTURES.join('\n')));

program.parseAsync().catch((e: unknown) => {
  if (e instanceof RelpropError) console.error(`relprop: error: ${e.message}`);
  else console.error('relprop: unexpected error (please report it):', e);
  process.exitCode = e instanceof RelpropError ? 1 : 70;
});
