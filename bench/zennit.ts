// relprop against Zennit (issue 32): `node --import tsx bench/zennit.ts [rounds] [threads]` (default 5
// rounds, 2 threads). torchvision's ResNet-50 with seeded random weights (bench/time-zennit.py make), one
// 224 x 224 input, epsilon-plus-flat: Zennit 0.5.1's EpsilonPlusFlat with its ResNetCanonizer on Debian's
// PyTorch in a child process, relprop in this one, the same threads each. Each round times K calls of
// each of the four (Zennit's explanation, relprop's, PyTorch's forward, relprop's), the order turned
// round every other round; a side's figure is its median call, the ratios are medians of the rounds'
// ratios (shared, noisy machines). First both explain the same class and the relevances are compared, so
// the timed work is the same computation. Needs Zennit's source: see bench/time-zennit.py.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { createInterface } from 'node:readline';
import { enableRelaxedSimd } from '../src/cli/relaxed-simd.js';
import { loadModel } from '../src/index.js';
import { median, ratio } from './interleaved.js';

enableRelaxedSimd();
const ROUNDS = Number(process.argv[2] ?? 5);
const THREADS = Number(process.argv[3] ?? 2);
const CALLS = 5;
const dir = new URL('../weights/cache/bench/', import.meta.url).pathname;
const [pth, input, zennitOut] = [`${dir}resnet50_tv.pth`, `${dir}zennit-input.bin`, `${dir}zennit-relevance.bin`];
const script = new URL('./time-zennit.py', import.meta.url).pathname;
const env = { ...process.env, PYTHONPATH: process.env.PYTHONPATH ?? '/tmp/zennit-src/src' };
mkdirSync(dir, { recursive: true });

function python(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn('/usr/bin/python3', [script, ...args], { env, stdio: 'inherit' });
    p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`bench/time-zennit.py ${args[0]} exited ${code}`))));
  });
}
if (!existsSync(pth)) await python(['make', pth]);
const x = Float32Array.from({ length: 3 * 224 * 224 }, (_, i) => Math.sin(i * 0.001) * 2);
writeFileSync(input, Buffer.from(x.buffer));

const child = spawn('/usr/bin/python3', [script, 'serve', pth, input, String(THREADS)], { env, stdio: ['pipe', 'pipe', 'inherit'] });
const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
const ask = async (command: string): Promise<string> => {
  if (command) child.stdin!.write(`${command}\n`);
  const { value, done } = await lines.next();
  if (done) throw new Error(`bench/time-zennit.py ended before answering "${command}"`);
  return value as string;
};
if ((await ask('')) !== 'ready') throw new Error('bench/time-zennit.py did not start');

const model = await loadModel(pth, { arch: 'resnet50' });
const logits = await model.forward(x, { threads: THREADS });
const target = logits.indexOf(Math.max(...logits));
await ask(`relevance ${target} ${zennitOut}`);
const theirs = new Float32Array(readFileSync(zennitOut).buffer.slice(0));
const ours = (await model.explain(x, { composite: 'epsilon-plus-flat', target, threads: THREADS })).relevance;
let [d2, n2] = [0, 0];
ours.forEach((v, i) => ([d2, n2] = [d2 + (v - theirs[i]) ** 2, n2 + theirs[i] ** 2]));
const agreement = Math.sqrt(d2 / n2);

/** Median ms of CALLS calls of relprop's f. */
async function relprop(f: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < CALLS; i++) {
    const t = performance.now();
    await f();
    times.push(performance.now() - t);
  }
  return median(times);
}
const tasks: (() => Promise<number>)[] = [
  async () => Number(await ask(`explain ${CALLS} ${target}`)),
  () => relprop(() => model.explain(x, { composite: 'epsilon-plus-flat', target, threads: THREADS })),
  async () => Number(await ask(`forward ${CALLS}`)),
  () => relprop(() => model.forward(x, { threads: THREADS })),
];
for (const f of tasks) await f(); // warm-up
const times = tasks.map(() => [] as number[]);
for (let r = 0; r < ROUNDS; r++) {
  const order = r % 2 === 0 ? [0, 1, 2, 3] : [1, 0, 3, 2];
  for (const k of order) times[k].push(await tasks[k]());
}
child.stdin!.end();
model.dispose();

const range = (num: number[], den: number[]) => {
  const r = num.map((v, i) => v / den[i]);
  return `${ratio(num, den).toFixed(2)} (${Math.min(...r).toFixed(2)}-${Math.max(...r).toFixed(2)})`;
};
console.log(`machine: ${cpus()[0].model}, ${cpus().length} cores; node ${process.version}; ${ROUNDS} rounds of ${CALLS} calls; ${THREADS} threads each`);
console.log(`relevance of class ${target}: relprop against Zennit, rel L2 ${agreement.toExponential(1)}`);
console.log('| threads | Zennit explanation ms | relprop explanation ms | relprop / Zennit | PyTorch forward ms | relprop forward ms | relprop / PyTorch |');
console.log('| --- | --- | --- | --- | --- | --- | --- |');
const ms = (v: number[]) => median(v).toFixed(0);
console.log(`| ${THREADS} | ${ms(times[0])} | ${ms(times[1])} | ${range(times[1], times[0])} | ${ms(times[2])} | ${ms(times[3])} | ${range(times[3], times[2])} |`);
