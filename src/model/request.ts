/**
 * A call's options, checked once at the public entry and resolved into a request that the layers below
 * take as given: the engine and its threads, the composite, the start of relevance and each image's
 * class. Model's methods and the image helpers build one; nothing under them checks or resolves again.
 */
import { resolveComposite, type Composite, type CompositeSpec } from '../composites.js';
import { fail } from '../errors.js';
import { parseTargets } from '../validate.js';
import { DEFAULT_MEMORY_LIMIT } from '../wasm/arena.js';
import type { KernelBuild } from '../wasm/load.js';
import { checkThreads } from '../wasm/threads.js';

export type Backend = 'wasm' | 'reference';
export const BACKENDS: readonly Backend[] = ['wasm', 'reference'];

/** A class index, its digits, a label (case-, space- and underscore-insensitive), or 'top1'. */
export type Target = number | string;

export interface RunOptions {
  /** Number of images in the input (default 1). */
  batch?: number;
  /** 'wasm' (default): the SIMD engine; 'reference': the float64 TypeScript specification. */
  backend?: Backend;
  /** Most bytes of wasm memory the wasm engine may use (default 3 GiB; wasm32 allows 4 GiB). */
  memoryLimit?: number;
  /**
   * Which build of the wasm kernels: 'relaxed-simd' (fused multiply-adds) or 'simd'. Default: the
   * relaxed one where the runtime has relaxed SIMD. Each build used keeps its own copy of the weights.
   */
  kernels?: KernelBuild;
  /**
   * Threads the wasm engine splits large passes across (default: the model's, see ModelOptions).
   * Results are the same, bit for bit, for any number.
   */
  threads?: number;
}

export interface ExplainOptions extends RunOptions {
  /** A composite name or options object (default: the model's, defaultCompositeFor: 'epsilon-gamma-box', for a transformer 'cp-lrp'). */
  composite?: CompositeSpec;
  /** Class to explain: an index (or label), one per image, or the top-1 class when left out. */
  target?: Target | Target[];
  /** Starting relevance at the target logit: 1.0 ('one-hot', as Zennit) or the logit's value. */
  initial?: 'one-hot' | 'logit';
  /** Also report each layer's total relevance (a conservation report). */
  layers?: boolean;
}

export interface AttributeOptions extends RunOptions {
  /** The method (default 'lrp'); its parameters go beside it (see README, Methods). */
  method?: string;
  /** Class to explain: an index (or label), one per image, or the top-1 class when left out. */
  target?: Target | Target[];
  /**
   * Images per engine run when a method runs many copies (integrated gradients' steps, SmoothGrad's
   * samples, occluded or LIME's perturbed copies); default 4. Results do not depend on it.
   */
  internalBatch?: number;
  [param: string]: unknown;
}

export const RUN_OPTIONS = ['batch', 'backend', 'memoryLimit', 'kernels', 'threads'] as const satisfies readonly (keyof RunOptions)[];
export const GRADIENT_OPTIONS = [...RUN_OPTIONS, 'target', 'initial'] as const satisfies readonly (keyof ExplainOptions)[];
export const EXPLAIN_OPTIONS = [...GRADIENT_OPTIONS, 'composite', 'layers'] as const satisfies readonly (keyof ExplainOptions)[];
export const ATTRIBUTE_OPTIONS = [...RUN_OPTIONS, 'method', 'target', 'internalBatch'] as const;

/** Where a run goes: the engine, its kernels, memory and threads (undefined: the model's own). */
export interface EngineRequest {
  readonly backend: Backend;
  readonly threads: number | undefined;
  readonly memoryLimit: number;
  readonly kernels: KernelBuild | undefined;
}

/** A backward pass: its engine, the images' classes (undefined: top-1), the rules' source and start. */
export interface ExplainRequest {
  readonly engine: EngineRequest;
  readonly batch: number;
  /** Each image's class; undefined: its top-1, known once the logits are. */
  readonly targets: readonly (number | undefined)[];
  /** The composite whose rules run, or null: the plain gradient. */
  readonly composite: Composite | null;
  readonly initial: 'one-hot' | 'logit';
  readonly layers: boolean;
}

/** What a model tells a request about itself. */
export interface RequestContext {
  readonly numClasses: number;
  readonly labels?: readonly string[];
  /** The model's composite when a request names none (defaultCompositeFor). */
  readonly defaultComposite: string;
}

/** The engine options of a call, checked. */
export function engineRequest(options: RunOptions): EngineRequest {
  const backend = options.backend ?? 'wasm';
  if (!BACKENDS.includes(backend)) fail('BAD_OPTION', `unknown backend "${backend}"; available: ${BACKENDS.join(', ')}`);
  const threads = options.threads === undefined ? undefined : checkThreads(options.threads, 'options');
  const memoryLimit = options.memoryLimit ?? DEFAULT_MEMORY_LIMIT;
  if (!(memoryLimit > 0)) fail('BAD_OPTION', `memoryLimit must be a positive number of bytes, got ${options.memoryLimit}`);
  const kernels = options.kernels;
  if (kernels !== undefined && kernels !== 'simd' && kernels !== 'relaxed-simd') fail('BAD_OPTION', `unknown kernels "${String(kernels)}"; available: relaxed-simd, simd`);
  return { backend, threads, memoryLimit, kernels };
}

/**
 * An explanation's (or, with `gradient`, the plain gradient's) options, whose names the entry checked,
 * resolved for a batch of `batch` images: targets are checked before anything runs.
 */
export function explainRequest(model: RequestContext, options: ExplainOptions, batch: number, gradient = false): ExplainRequest {
  const engine = engineRequest(options);
  const composite = gradient ? null : resolveComposite(options.composite ?? model.defaultComposite);
  const initial = options.initial ?? composite?.initial ?? 'one-hot';
  if (initial !== 'one-hot' && initial !== 'logit') fail('BAD_OPTION', `initial must be 'one-hot' or 'logit', got "${initial}"`);
  const targets = parseTargets(options.target, batch, model.numClasses, model.labels);
  return { engine, batch, targets, composite, initial, layers: options.layers ?? false };
}
