// Where an explanation spends its time: `node --import tsx --cpu-prof bench/profile.ts [arch] [composite]`.
import { buildModel } from '../src/index.js';
import { enableRelaxedSimd } from '../src/cli/relaxed-simd.js';

enableRelaxedSimd();
const model = buildModel(process.argv[2] ?? 'resnet50', { seed: 0 });
const x = Float32Array.from({ length: 3 * 224 * 224 }, (_, i) => Math.sin(i * 0.001) * 2);
const composite = process.argv[3] ?? 'epsilon-plus-flat';
await model.explain(x, { composite, threads: 1 });
for (let i = 0; i < 3; i++) await model.explain(x, { composite, threads: 1 });
