/**
 * Every method of model.attribute against Captum v0.8.0 on the same weights: two small models of
 * torchvision's blocks exported to ONNX with Captum's attributions (spec/fixtures/captum/
 * make_fixtures.py). The bar for each: cosine >= 0.9999 and relative L2 <= 1e-3, on the wasm
 * engine (float32, as PyTorch). The sampling methods are held to it on Captum's own draws (its noise,
 * its masks) fed to the same computation, and compared statistically on independent draws.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModel, type Model } from '../src/index.js';
import { resolveMethod } from '../src/attribution/index.js';
import { limeFit } from '../src/attribution/methods/lime.js';
import { smoothOver } from '../src/attribution/methods/smoothgrad.js';
import { gridSegments } from '../src/attribution/segments/grid.js';
import { enginePasses } from '../src/model/passes.js';
import { WasmEngine } from '../src/wasm/engine.js';
import { captumInputs } from './helpers/fixture-inputs.js';

const DIR = join(import.meta.dirname, 'fixtures/captum');
interface Case {
  id: string;
  model: string;
  method: string;
  params: Record<string, unknown>;
  batch: number;
  targets: number[];
  captum: string;
  cam?: string;
  camShape?: [number, number];
  noise?: string;
  masks?: string;
  features?: number;
  expectedSquaredDistance?: number;
}
const META = JSON.parse(readFileSync(join(DIR, 'fixtures.json'), 'utf8'));
const CASES: Case[] = META.cases;
const SHAPE: [number, number, number] = META.input;
const PER = SHAPE[0] * SHAPE[1] * SHAPE[2];

const f32 = (file: string) => {
  const b = readFileSync(join(DIR, file));
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
};

/** The fixture inputs, as the script computes them. */
const inputs = (n: number) => captumInputs(SHAPE, n);

function agreement(ours: ArrayLike<number>, theirs: ArrayLike<number>): { cosine: number; relL2: number } {
  let dot = 0;
  let a2 = 0;
  let b2 = 0;
  let d2 = 0;
  for (let i = 0; i < theirs.length; i++) {
    dot += ours[i] * theirs[i];
    a2 += ours[i] ** 2;
    b2 += theirs[i] ** 2;
    d2 += (ours[i] - theirs[i]) ** 2;
  }
  return { cosine: dot / Math.sqrt(a2 * b2), relL2: Math.sqrt(d2 / b2) };
}

function expectAgreement(ours: ArrayLike<number>, theirs: ArrayLike<number>): void {
  expect(ours.length).toBe(theirs.length);
  const { cosine, relL2 } = agreement(ours, theirs);
  expect(cosine).toBeGreaterThanOrEqual(0.9999);
  expect(relL2).toBeLessThanOrEqual(1e-3);
}

const models = new Map<string, Promise<Model>>();
const modelOf = (file: string) => {
  if (!models.has(file)) models.set(file, loadModel(join(DIR, file)));
  return models.get(file)!;
};

async function passesOf(model: Model) {
  const engine = await WasmEngine.create();
  return enginePasses({ engine, threads: 1, graph: (fold) => model.canonicalGraph(fold), chunk: 8 });
}

describe.each(CASES.filter((c) => !c.noise && !c.masks && c.expectedSquaredDistance === undefined))('$model: $id', (c) => {
  it("equals Captum's attribution", async () => {
    const model = await modelOf(c.model);
    const r = await model.attribute(inputs(c.batch), { method: c.method, batch: c.batch, target: c.targets, ...c.params });
    expect(r.targets).toEqual(c.targets);
    expectAgreement(r.attribution, f32(c.captum));
    if (c.cam) {
      expect(r.camShape).toEqual(c.camShape);
      expectAgreement(r.cam!, f32(c.cam));
    }
  });
});

describe.each(CASES.filter((c) => c.noise))('$model: $id on Captum\'s noise', (c) => {
  it("equals Captum's NoiseTunnel given the same draws", async () => {
    const model = await modelOf(c.model);
    const x = inputs(1);
    const noise = f32(c.noise!);
    const samples = c.params.samples as number;
    const noisy = Float32Array.from(noise, (n, i) => x[i % PER] + n);
    const inner = resolveMethod(c.params.inner, {}, [], { graph: model.canonicalGraph(), inputShape: SHAPE }, 'spec');
    const r = await smoothOver(inner, await passesOf(model), noisy, samples, 1, c.targets);
    expectAgreement(r.attribution, f32(c.captum));
  });
});

describe.each(CASES.filter((c) => c.masks))('$model: $id on Captum\'s masks', (c) => {
  it("equals Captum's Lime given the same masks", async () => {
    const model = await modelOf(c.model);
    const masks = new Uint8Array(readFileSync(join(DIR, c.masks!)));
    const labels = gridSegments(SHAPE[1], SHAPE[2], 4);
    const { samples, kernelWidth, fit } = c.params as { samples: number; kernelWidth: number; fit: 'ridge' | 'least-squares' };
    expect(masks.length).toBe(samples * c.features!);
    const { coefficients } = await limeFit(await passesOf(model), inputs(1), c.targets[0], labels, c.features!, masks, { samples, kernelWidth, fit, fill: 'mean' });
    expectAgreement(coefficients, f32(c.captum));
  });
});

describe.each(CASES.filter((c) => c.expectedSquaredDistance !== undefined))('$model: $id, independent draws', (c) => {
  // Two independent means of n samples differ by sum_i 2 var_i / n in expectation (the script measured
  // var_i on Captum's samples). Over 3072 elements the ratio concentrates near 1; bounds [0.7, 1.4]
  // (measured 0.9-1.1) catch a wrong noise level (with sigma 0 on our side the ratio would be 0.5, with
  // twice the sigma far above 2) or a wrong mean.
  it("is as far from Captum's SmoothGrad as two independent estimates", async () => {
    const model = await modelOf(c.model);
    const r = await model.attribute(inputs(1), { method: 'smoothgrad', target: c.targets, seed: 3, ...c.params });
    const theirs = f32(c.captum);
    let d2 = 0;
    for (let i = 0; i < theirs.length; i++) d2 += (r.attribution[i] - theirs[i]) ** 2;
    const ratio = d2 / c.expectedSquaredDistance!;
    expect(ratio).toBeGreaterThan(0.7);
    expect(ratio).toBeLessThan(1.4);
  });
});
