/**
 * What rules see of a layer. Rules are written against these small interfaces, not against an engine,
 * so each rule module reads as its formula; the reference engine implements them in float64.
 */

/** A batch of values, flat, NCHW or N x F. */
export type Vec = Float64Array;

/**
 * A Conv2d or Linear layer z = W x + b, seen by LRP's affine rules. `apply` evaluates the layer with
 * modified inputs and parameters (z-plus, gamma, ... are all "the same layer with other weights");
 * `transpose` is W^T, the backward-data pass.
 */
export interface AffineLayer {
  readonly name: string;
  /** The layer's input activation for the whole batch. */
  readonly x: Vec;
  readonly weight: Vec;
  /** Per output channel, or null for a layer without bias. */
  readonly bias: Vec | null;
  readonly batch: number;
  /** Per-sample input shape, [C, H, W] or [F]. */
  readonly inputShape: readonly number[];
  /** The model's known input range (from its preprocessing), set only on layers that read the graph input. */
  readonly inputRange?: { low: BoundSpec; high: BoundSpec };
  apply(x: Vec, w: ArrayLike<number>, b: ArrayLike<number> | null): Vec;
  transpose(s: Vec, w: ArrayLike<number>): Vec;
}

/** A parameter-free linear map with one or more inputs (Add, average pools), seen by Norm. */
export interface LinearMap {
  readonly name: string;
  readonly inputs: readonly Vec[];
  /** The map's output z for the stored inputs. */
  readonly z: Vec;
  /** The map's transpose: the share of each output that each input position receives, per input. */
  transpose(s: Vec): Vec[];
}

/** A bound for z-box: one number, one per channel, or one per element of the (per-sample) input. */
export type BoundSpec = number | readonly number[] | Float32Array | Float64Array;

export interface AffineRule {
  readonly kind: 'affine';
  readonly name: string;
  /** The rule with its parameters, as shown to users (`relprop info`, layer reports). */
  readonly label: string;
  relevance(layer: AffineLayer, R: Vec): Vec;
}

export interface NormRule {
  readonly kind: 'norm';
  readonly name: string;
  readonly label: string;
  relevance(map: LinearMap, R: Vec): Vec[];
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

export type Rule = AffineRule | NormRule | PassRule | GradientRule;
