import type { Graph } from '../graph/graph.js';
import type { InputChange } from '../graph/input-change.js';
import type { GraphNode } from '../graph/nodes.js';
import type { AffineLayer, BoundSpec, LinearMap, Arithmetic, Rule } from '../rules/types.js';

/** Total relevance at a node's output and what it passed on to its inputs, per sample. */
export interface LayerRelevance {
  name: string;
  op: string;
  rule: string;
  /** Sum of the relevance that reached the node's output, one number per sample. */
  relevanceOut: number[];
  /** Sum of the relevance the node passed to its inputs, one number per sample; the difference was absorbed. */
  relevanceIn: number[];
}

export interface BackwardOptions {
  /** The model's known input range, given to rules (z-box) on layers that read the graph input. */
  inputRange?: { low: BoundSpec; high: BoundSpec };
  report?: boolean;
  /**
   * Stop at this node once every reader of its output has passed its share back: the result is then
   * what reached the node's output (its gradient, for gradient rules), not the input's relevance.
   */
  stopAt?: string;
}

/**
 * A forward pass kept alive for a backward pass: an engine's activations of one batch, and everything
 * the shared backward traversal needs to apply rules on that engine's buffers.
 */
export interface Session<T> {
  readonly graph: Graph;
  readonly batch: number;
  readonly math: Arithmetic<T>;
  /** Logits (the value the explanation starts from), N x classes. */
  logits(): Float32Array;
  /** A node's forward value, N x its shape (a Linear's z always; a Conv's z or a residual sum only where the run keeps it, see `keepZ`). */
  activation(name: string): Float32Array;
  /** Wraps host relevance at the logits as an engine buffer. */
  start(values: Float64Array): T;
  affineLayer(node: GraphNode, options: BackwardOptions): AffineLayer<T>;
  linearMap(node: GraphNode): LinearMap<T>;
  /**
   * A node as its inputs, output and Jacobian at the forward's point (its gradient), or with what its
   * op holds constant for LRP held (`held`: its `linearized` pass): what the transformer rules read.
   */
  jacobianMap(node: GraphNode, held: boolean): LinearMap<T>;
  /** The node's plain backward pass applied to R, one result per input. */
  gradient(node: GraphNode, R: T): T[];
  /**
   * Adds rs[k] to the relevance collected for value names[k] (copying it out of per-node scratch): what
   * one node passes to its inputs, all at once, so an engine may compute them together. `spent` is the
   * relevance of the node being processed, which nothing reads afterwards: when an r is that buffer (a
   * ReLU's relevance passing through), an engine may hand the buffer over instead of copying it.
   */
  accumulate(names: readonly string[], rs: readonly T[], spent?: T): void;
  /** The relevance collected for value `name`, if any reached it. */
  collected(name: string): T | undefined;
  /** Frees what the last node's rule allocated; collected relevance stays. */
  endNode(): void;
  sumPerSample(t: T): number[];
  toFloat32(t: T): Float32Array;
  /** Releases the session's buffers. */
  release(): void;
}

export interface Engine {
  readonly name: string;
  /**
   * Runs the graph up to its logits on a batch and keeps the activations for a backward pass, on up to
   * `threads` threads where the engine has them (results do not depend on it). `keepZ` names the
   * nodes whose own value the caller reads (a layer's z for its rule, see readingZ; a layer asked for
   * by name): those are kept; a Conv's z or a residual sum not named here an engine may overwrite in
   * place with the ReLU after it.
   */
  run(graph: Graph, input: Float32Array, batch: number, threads?: number, keepZ?: ReadonlySet<string>): Session<unknown>;
  /**
   * Where the engine has it: a forward of one image kept to follow a series of inputs, each a change of
   * the one before, computing from the last only what the change reaches (the same logits up to rounding).
   */
  incremental?(graph: Graph, input: Float32Array): IncrementalRun;
}

/** A forward following a series of inputs (Engine.incremental). */
export interface IncrementalRun {
  logits(): Float32Array;
  /** Moves to the next input, the last one changed; its logits. */
  next(change: InputChange): Float32Array;
  release(): void;
}

export type { Rule };
