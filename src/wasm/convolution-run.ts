/** What the convolution service (convolutions.ts, token-gemms.ts) reads of an engine and a run. */
import type { Shapes } from '../ops/op.js';
import type { Arena } from './arena.js';
import type { KernelExports } from './load.js';
import type { ThreadedKernel } from './threads.js';

/** A Conv2d's or Linear's weights in wasm memory: addresses, 0 where there is none. */
export interface Uploaded {
  weight: number;
  bias: number;
  /**
   * Winograd's U = G g G^T of the plain weights, packed for the forward GEMMs, for the 3x3 stride-1
   * convolutions that use it; or 0. Transposed passes read it too. Rules' transforms get theirs per node.
   */
  winograd: number;
}

/** What the service needs of a run. */
export interface ConvolutionRun {
  /** Every value's shape: the graph's, or a box's (incremental-forward.ts). */
  readonly graph: Shapes;
  readonly batch: number;
  /** Threads this run's large passes are split across. */
  readonly threads: number;
  readonly k: KernelExports;
  readonly arena: Arena;
  readonly weights: Map<string, Uploaded>;
  /** Runs a kernel in `parts` shares on the engine's threads. */
  parallel(kernel: ThreadedKernel, args: number[], parts: number): void;
}
