// Timing on shared, noisy machines, for bench/run.ts and bench/threads.ts.

export const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

/**
 * `runs` timings of each task, the tasks taking turns (one warm-up round first): times[task][round].
 * Ratios are medians over rounds of the ratio within a round, whose tasks ran moments apart, so a
 * busy spell of the shared machine scales both sides instead of one.
 */
export async function interleaved(runs: number, tasks: (() => Promise<unknown>)[]): Promise<number[][]> {
  for (const f of tasks) await f(); // warm-up: compilation, arena growth, weight upload, worker start
  const times = tasks.map(() => [] as number[]);
  for (let i = 0; i < runs; i++) {
    for (const [k, f] of tasks.entries()) {
      const t = performance.now();
      await f();
      times[k].push(performance.now() - t);
    }
  }
  return times;
}

/** The median over rounds of num / den within each round. */
export const ratio = (num: number[], den: number[]) => median(num.map((v, i) => v / den[i]));
