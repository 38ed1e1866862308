import type { Composite } from '../composites.js';
import type { Graph } from '../graph/graph.js';
import type { InputChange } from '../graph/input-change.js';
import type { Preprocessing } from '../model/preprocessing.js';

/**
 * The passes a method may run on the model, resolved (engine, threads, memory) by the public entry.
 * Each takes n images at once and runs them in chunks of the request's internal batch, so a method
 * hands over all its perturbed or scaled copies in one call.
 */
export interface Passes {
  /** The graph the passes run on (BatchNorm folded): Grad-CAM's layers are its nodes. */
  readonly graph: Graph;
  /** C x H x W of one image. */
  readonly inputShape: readonly number[];
  readonly numClasses: number;
  /** Logits, n x classes. */
  forward(x: Float32Array, n: number): Promise<Float32Array>;
  /**
   * Logits of a series of images (changes.length + 1 x classes): `start`, then each image the one before
   * changed (a perturbation curve), each computed from the one before where the engine can.
   */
  forwardSeries(start: Float32Array, changes: readonly InputChange[]): Promise<Float32Array>;
  /**
   * d logit[targets[i]] / d input for each image i. A target left undefined is the image's top-1 class,
   * found from the pass's own logits (the passes below too): `targets` says which.
   */
  gradient(x: Float32Array, n: number, targets: Targets): Promise<{ gradient: Float32Array } & Outputs>;
  /** LRP with a composite, starting at each image's target with the composite's initial relevance. */
  lrp(x: Float32Array, n: number, targets: Targets, composite: Composite): Promise<{ relevance: Float32Array } & Outputs>;
  /** A node's output and d logit[target] / d that output, each n x the node's shape. */
  layerGradient(x: Float32Array, n: number, targets: Targets, layer: string): Promise<{ activation: Float32Array; gradient: Float32Array } & Outputs>;
}

/** Each image's class; undefined: its top-1. */
export type Targets = readonly (number | undefined)[];

/** What a pass learnt of its images: their logits (n x classes) and classes. */
export interface Outputs {
  logits: Float32Array;
  targets: number[];
}

export interface MethodResult {
  /**
   * The logits and classes of the images themselves, from a method whose pass ran on them unchanged
   * (gradient, LRP, Grad-CAM); a method that only runs perturbed copies leaves them out.
   */
  outputs?: Outputs;
  /** The input's shape (N x C x H x W) unless the method says otherwise (Grad-CAM: N x 1 x H x W). */
  attribution: Float32Array;
  /** Grad-CAM's map at its layer, N x h x w. */
  cam?: Float32Array;
  /** h and w of cam. */
  camShape?: [number, number];
}

/** What a method's options are checked against. */
export interface MethodContext {
  readonly graph: Graph;
  readonly inputShape: readonly number[];
  /** How a photo became the input, when known (LIME segments the photo's colours). */
  readonly preprocessing?: Preprocessing;
  /** Resolves another method's spec (SmoothGrad's inner method). */
  resolve(spec: unknown, where: string): ResolvedMethod;
}

/** A method with its parameters checked and defaults filled in, ready to run on any batch. */
export interface ResolvedMethod {
  readonly method: string;
  /** The parameters in full (what a record of the result says). */
  readonly settings: Readonly<Record<string, unknown>>;
  /** How maps are drawn: signed around zero, or one-sided (Grad-CAM's ReLU'd maps). */
  readonly shading: 'signed' | 'positive';
  /**
   * Whether run passes the images themselves to one pass (which then finds top-1 classes): other
   * methods are given every image's class, found by a forward first.
   */
  readonly findsTargets: boolean;
  /** Attributes each image to its target; x holds `batch` images. */
  run(passes: Passes, x: Float32Array, batch: number, targets: Targets): Promise<MethodResult>;
}

/** One attribution method: its name, the options it takes and how they resolve. */
export interface MethodDefinition {
  readonly name: string;
  readonly description: string;
  /** Its own option names (beyond method, target, batch and the engine's). */
  readonly params: readonly string[];
  resolve(options: Readonly<Record<string, unknown>>, context: MethodContext): ResolvedMethod;
}
