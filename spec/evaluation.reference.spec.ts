/**
 * The faithfulness metrics against their reference implementations on the same weights: Quantus v0.6.0's
 * RegionPerturbation and PixelFlipping and RISE's CausalMetric (deletion, insertion) run on the two small
 * models of spec/fixtures/captum, with maps that have no ties (spec/fixtures/metrics/make_fixtures.py).
 * The issue's bar: every curve within 1e-4 of its range, AOPC and AUC to 1e-4 relative (AOPC relative to
 * the curve's range where it cancels to less). The scores are float32 softmax probabilities on both
 * sides and the perturbed images the same values, so what is left is the forward's float32 rounding:
 * the curves agree to 5e-7.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { aopc, auc, evaluate, loadModel, type EvaluateOptions, type Model } from '../src/index.js';
import { captumInputs } from './helpers/fixture-inputs.js';

const DIR = join(import.meta.dirname, 'fixtures/metrics');
interface Case {
  id: string;
  model: string;
  metric: EvaluateOptions['metric'];
  options: Record<string, unknown>;
  map: string;
  targets: number[];
  curves: number[][];
  auc?: number[];
}
const META = JSON.parse(readFileSync(join(DIR, 'fixtures.json'), 'utf8'));
const CASES: Case[] = META.cases;
const SHAPE: number[] = META.input;
const BATCH: number = META.batch;

const f32 = (file: string) => {
  const b = readFileSync(join(DIR, file));
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};
const models = new Map<string, Promise<Model>>();
const modelOf = (file: string) => {
  if (!models.has(file)) models.set(file, loadModel(join(DIR, '../captum', file)));
  return models.get(file)!;
};

describe.each(CASES)('$id', (c) => {
  it('equals the reference curve, AOPC and AUC', async () => {
    const model = await modelOf(c.model);
    const r = await evaluate(model, captumInputs(SHAPE, BATCH), f32(`${c.map}.bin`), { metric: c.metric, batch: BATCH, threads: 1, ...c.options } as EvaluateOptions);
    expect(r.targets).toEqual(c.targets);
    for (let b = 0; b < BATCH; b++) {
      const theirs = c.curves[b];
      const ours = r.curves[b];
      expect(ours.length).toBe(theirs.length);
      const range = Math.max(...theirs) - Math.min(...theirs);
      expect(range).toBeGreaterThan(0);
      for (let k = 0; k < theirs.length; k++) expect(Math.abs(ours[k] - theirs[k]), `step ${k}`).toBeLessThanOrEqual(1e-4 * range);
      // AOPC is a mean of differences of scores, which can cancel to near 0 (2e-4 of a curve that goes
      // up as well as down): 1e-4 relative to it, or to the curve's range where that is larger, the scale
      // its rounding error has (measured: the curves agree to 5e-7).
      const near = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), range);
      expect(near(r.aopc[b], aopc(theirs))).toBeLessThanOrEqual(1e-4);
      expect(near(r.auc[b], c.auc ? c.auc[b] : auc(theirs))).toBeLessThanOrEqual(1e-4);
    }
  });
});
