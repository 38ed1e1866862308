// What two cores can give here: `node --import tsx bench/ceiling.ts [arch]` (BENCH_RUNS rounds, default
// 3). Two processes, each running one-thread forwards, at the same time, against one process alone:
// throughput ratio = 2 x (time alone) / (time of the slower of the pair), in rounds that alternate
// (shared, noisy machines). No threading overhead is in it: what it loses against 2.0 is the machine's
// (memory, caches, neighbours), the most a 2-thread speed-up could reach on this machine.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { cpus } from 'node:os';
import { median } from './interleaved.js';

const FORWARDS = 12;

if (process.env.BENCH_CEILING_CHILD) {
  const { benchModel } = await import('./models.js');
  const { enableRelaxedSimd } = await import('../src/cli/relaxed-simd.js');
  enableRelaxedSimd();
  const model = await benchModel(process.env.BENCH_CEILING_CHILD);
  const x = Float32Array.from({ length: 3 * 224 * 224 }, (_, i) => Math.sin(i * 0.001) * 2);
  await model.forward(x, { threads: 1 });
  process.send!('ready');
  process.on('message', async () => {
    const t = performance.now();
    for (let i = 0; i < FORWARDS; i++) await model.forward(x, { threads: 1 });
    process.send!(performance.now() - t);
  });
} else {
  const arch = process.argv[2] ?? 'resnet50-imagenet';
  const RUNS = Number(process.env.BENCH_RUNS ?? 3);
  const start = async () => {
    const child = fork(fileURLToPath(import.meta.url), [], { env: { ...process.env, BENCH_CEILING_CHILD: arch }, execArgv: ['--import', 'tsx'] });
    await new Promise((r) => child.once('message', r));
    return child;
  };
  const time = (child: ReturnType<typeof fork>) =>
    new Promise<number>((r) => {
      child.once('message', (ms) => r(ms as number));
      child.send('go');
    });
  const [a, b] = [await start(), await start()];
  const ratios: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const alone = await time(a);
    const both = Math.max(...(await Promise.all([time(a), time(b)])));
    ratios.push((2 * alone) / both);
    console.log(`round ${i + 1}: ${FORWARDS} forwards alone ${alone.toFixed(0)} ms, two processes at once ${both.toFixed(0)} ms: throughput ${ratios.at(-1)!.toFixed(2)}x`);
  }
  a.kill();
  b.kill();
  console.log(`${cpus()[0].model}, ${cpus().length} cores, ${arch}: two one-thread processes at once give ${median(ratios).toFixed(2)}x the throughput of one (median of ${RUNS})`);
}
