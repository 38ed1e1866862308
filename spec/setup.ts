import fc from 'fast-check';
import { enableRelaxedSimd } from '../src/cli/relaxed-simd.js';

// As the CLI does, before any kernel compiles: the tests run the relaxed-SIMD build by default on Node
// 20 too, and spec/wasm.spec.ts checks both builds.
enableRelaxedSimd();

// Property runs are reproducible: a fixed seed unless FC_SEED asks for another (fast-check prints the
// seed and path of any failure, so a local run with a random seed can be replayed exactly).
const seed = process.env.FC_SEED === 'random' ? Date.now() : Number(process.env.FC_SEED ?? 20261126);
fc.configureGlobal({ seed, numRuns: Number(process.env.FC_RUNS ?? 40) });
