/**
 * How a pass over whole activations (an Add, a ReLU or other activation, a max-pool, Norm's split of a residual sum) is
 * shared across a run's threads: each part takes a contiguous share of the values, aligned to whole
 * vectors (the kernel computes its share from part and parts), so the result does not depend on the
 * number of threads.
 */
import type { Elementwise } from '../ops/op.js';
import type { ConvolutionRun } from './convolution-run.js';

export type { Elementwise };

/**
 * Passes over fewer values run on one thread. A job's fork-join costs about 2.4 us while the threads
 * poll (conv-plan.ts); a pass over 2^14 floats reads and writes 128-384 KB, 15-40 us on one core.
 */
const MIN_THREADED_VALUES = 2 ** 14;

export function elementwiseRun(run: Pick<ConvolutionRun, 'parallel' | 'threads'>): Elementwise {
  return (kernel, args, values) => run.parallel(kernel, args, run.threads > 1 && values >= MIN_THREADED_VALUES ? run.threads : 1);
}
