import fc from 'fast-check';

// Property runs are reproducible: a fixed seed unless FC_SEED asks for another (fast-check prints the
// seed and path of any failure, so a local run with a random seed can be replayed exactly).
const seed = process.env.FC_SEED === 'random' ? Date.now() : Number(process.env.FC_SEED ?? 20261126);
fc.configureGlobal({ seed, numRuns: Number(process.env.FC_RUNS ?? 40) });
