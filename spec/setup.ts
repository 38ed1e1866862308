import fc from 'fast-check';
import { setFlagsFromString } from 'node:v8';

// Node 20 validates relaxed SIMD only behind a V8 flag (Node 22+ has it on): set it before any kernel
// compiles, so the tests run the relaxed-SIMD build by default and spec/wasm.spec.ts checks both builds.
setFlagsFromString('--experimental-wasm-relaxed-simd');

// Property runs are reproducible: a fixed seed unless FC_SEED asks for another (fast-check prints the
// seed and path of any failure, so a local run with a random seed can be replayed exactly).
const seed = process.env.FC_SEED === 'random' ? Date.now() : Number(process.env.FC_SEED ?? 20261126);
fc.configureGlobal({ seed, numRuns: Number(process.env.FC_RUNS ?? 40) });
