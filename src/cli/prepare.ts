import { statSync } from 'node:fs';
import { fail } from '../errors.js';
import { prepareModel } from '../io/load.js';
import { DEFAULT_MODEL } from '../io/registry/default-model.js';
import { Progress } from './progress.js';
import { parseInputSize, type ModelOptions } from './resolve-model.js';

/**
 * `relprop prepare [MODEL]`: makes the model's prepared form in the cache (a known model's is made at its
 * first load anyway), so that later loads read relprop's own layout instead of importing the source.
 */
export async function prepareCommand(source: string | undefined, o: ModelOptions): Promise<void> {
  if (source !== undefined && o.model !== undefined) fail('BAD_OPTION', `give the model once: as the argument ("${source}") or as --model ("${o.model}")`);
  if (o.arch && !o.weights) fail('BAD_OPTION', '--arch alone builds seeded random weights, which load in no time: there is nothing to prepare (give --weights FILE with it)');
  if (o.weights && (source ?? o.model) !== undefined) fail('BAD_OPTION', 'give a model or --arch with --weights, not both');
  const inputSize = parseInputSize(o.inputSize);
  const progress = new Progress();
  const t0 = performance.now();
  const model = o.weights ? await prepareModel(o.weights, { arch: o.arch, inputSize }) : await prepareModel(source ?? o.model ?? DEFAULT_MODEL, { inputSize, onProgress: progress.fetch });
  progress.stop();
  const where = model.info.prepared;
  if (!where) fail('BAD_OPTION', 'the model was loaded but no prepared form was written');
  const mib = (statSync(where).size / 1024 ** 2).toFixed(1);
  console.log(`prepared ${model.info.name ?? source ?? o.weights}: ${where} (${mib} MiB, in ${((performance.now() - t0) / 1000).toFixed(1)} s); later loads with the same input size read it while the source files are unchanged`);
}
