/**
 * What rules see of a layer. Rules are written once, against these small interfaces, and run on every
 * engine: the float64 reference (T = Float64Array) and the wasm engine (T = a handle into wasm memory).
 * Modified weights are named by a transform, never materialized by the rule, so an engine can apply
 * the transform while packing weights for its kernels.
 */

/** How a rule modifies a layer's weights (or biases): w, w+, w-, 1, w^2, or w + gamma * w+ / w-. */
export type Transform = 'w' | 'w+' | 'w-' | 'ones' | 'w^2' | { gamma: number; part: '+' | '-' };

/** Elementwise tensor arithmetic on an engine's buffers (all of one batch). */
export interface Arithmetic<T> {
  pos(a: T): T;
  neg(a: T): T;
  ones(like: T): T;
  add(a: T, b: T): T;
  sub(a: T, b: T): T;
  mul(a: T, b: T): T;
  scale(a: T, k: number): T;
  /** R / stab(z, eps); with eps = 0 an exact division whose zero denominators give 0. */
  divStab(R: T, z: T, eps: number): T;
  /** Whether R is 0 wherever z <= 0 (relevance that came through a ReLU): rules may skip their z <= 0 terms. */
  onlyWherePositive(R: T, z: T): boolean;
  /**
   * The gamma rule's quotients from z and q (see gamma.ts): s_up = R / stab(z + g q) where z > 0,
   * s_down = R / stab(z + g (z - q)) where z < 0, both 0 elsewhere; returned as
   * [s_up + (1 + g) s_down, g (s_up - s_down)], what its transposed passes read.
   */
  gammaQuotients(R: T, z: T, q: T, gamma: number, eps: number): [T, T];
  fromHost(values: Float64Array): T;
  toHost(a: T): Float64Array;
  /** Whether no element is negative: rules then skip the terms of x^- (as after a ReLU). */
  isNonNegative(a: T): boolean;
}

/**
 * A Conv2d or Linear layer z = W x + b, seen by LRP's affine rules. `apply` evaluates the layer with
 * modified inputs and parameters (z-plus, gamma, ... are all "the same layer with other weights");
 * `transpose` is W^T, the backward-data pass.
 */
export interface AffineLayer<T> {
  readonly name: string;
  readonly math: Arithmetic<T>;
  /** The layer's input activation for the whole batch. */
  readonly x: T;
  /** Whether x is non-negative by construction (read from a ReLU, say): no need to look. */
  readonly xNonNegative?: boolean;
  readonly batch: number;
  /** Per-sample input shape, [C, H, W] or [F]. */
  readonly inputShape: readonly number[];
  /** The model's known input range (from its preprocessing), set only on layers that read the graph input. */
  readonly inputRange?: { low: BoundSpec; high: BoundSpec };
  /** z = t(W) x + t'(b); a null bias transform leaves the bias out. */
  apply(x: T, w: Transform, b: Transform | null): T;
  /** t(W)^T s */
  transpose(s: T, w: Transform): T;
}

/** A parameter-free linear map with one or more inputs (Add, average pools), seen by Norm. */
export interface LinearMap<T> {
  readonly name: string;
  readonly math: Arithmetic<T>;
  readonly inputs: readonly T[];
  /** The map's output z for the stored inputs. */
  readonly z: T;
  /** The map's transpose, per input. */
  transpose(s: T): T[];
}

/** A bound for z-box: one number, one per channel, or one per element of the (per-sample) input. */
export type BoundSpec = number | readonly number[] | Float32Array | Float64Array;

export interface AffineRule {
  readonly kind: 'affine';
  readonly name: string;
  /** The rule with its parameters, as shown to users (`relprop info`, layer reports). */
  readonly label: string;
  /**
   * Whether the rule reads the layer's own output z = W x + b: a forward pass keeps z for it, and may
   * let the ReLU after a layer whose rule does not overwrite z in place.
   */
  readonly readsZ: boolean;
  relevance<T>(layer: AffineLayer<T>, R: T): T;
}

export interface NormRule {
  readonly kind: 'norm';
  readonly name: string;
  readonly label: string;
  relevance<T>(map: LinearMap<T>, R: T): T[];
}

/**
 * The rules of a transformer's ops without weights (LXT's): each input's share of the output through
 * the op's Jacobian at the forward's point, R_j = x_j (J_j^T (R / stab(z)))_j, or the Jacobian of the
 * op with some of it held constant (`held`: LayerNorm's standard deviation); `share`: the output's
 * quotient divided among that many factors (2: the uniform rule of a product of two values); `to`:
 * which inputs get relevance ('last': a product's second factor, the first held constant).
 */
export interface JacobianRule {
  readonly kind: 'jacobian';
  readonly name: string;
  readonly label: string;
  readonly held: boolean;
  readonly to: 'all' | 'last';
  relevance<T>(map: LinearMap<T>, R: T): T[];
}

/** Relevance passes unchanged (ReLU, reshapes). */
export interface PassRule {
  readonly kind: 'pass';
  readonly name: string;
  readonly label: string;
}

/** Relevance follows the layer's gradient (max-pool's winner-take-all, padding's crop, plain gradients). */
export interface GradientRule {
  readonly kind: 'gradient';
  readonly name: string;
  readonly label: string;
}

export type Rule = AffineRule | NormRule | PassRule | GradientRule | JacobianRule;

/** The reference engine's buffers. */
export type Vec = Float64Array;
