import { buildModel, knownModels, loadModel, type Model } from '../src/index.js';

/** A known model name (real weights, fetched and cached) or an architecture with seeded random weights. */
export async function benchModel(name: string): Promise<Model> {
  if ((await knownModels()).some((m) => m.name === name)) return loadModel(name);
  return buildModel(name, { seed: 0 });
}
