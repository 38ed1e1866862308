import { fail } from '../errors.js';
import type { Engine, Session, BackwardOptions } from '../propagation/types.js';
import type { Graph } from '../graph/graph.js';
import type { AffineNode, GraphNode } from '../graph/nodes.js';
import type { AffineLayer, LinearMap, Vec } from '../rules/types.js';
import { opOf, type ReferenceContext } from '../ops/index.js';
import { referenceForward, weightOf, type Activations } from './forward.js';
import { referenceArithmetic } from './arithmetic.js';

/** The float64 reference engine: plain loops, the specification the wasm engine is tested against. */
export const referenceEngine: Engine = {
  name: 'reference',
  run(graph: Graph, input: Float32Array, batch: number): Session<Vec> {
    return new ReferenceSession(graph, referenceForward(graph, Float64Array.from(input), batch, graph.logitsName));
  },
};

class ReferenceSession implements Session<Vec> {
  readonly math = referenceArithmetic;
  readonly batch: number;
  private readonly relevance = new Map<string, Vec>();

  /** What op modules see of this run. */
  private readonly context: ReferenceContext;

  constructor(
    readonly graph: Graph,
    private readonly acts: Activations,
  ) {
    this.batch = acts.batch;
    this.context = {
      graph,
      batch: acts.batch,
      value: (name) => acts.values.get(name)!,
      kept: acts.winners,
      // Only Conv2d's and Linear's modules ask for it, each with its own node.
      weight: (node) => weightOf(node as AffineNode, acts.weights),
    };
  }

  logits(): Float32Array {
    return Float32Array.from(this.acts.values.get(this.graph.logitsName)!);
  }

  activation(name: string): Float32Array {
    return Float32Array.from(this.acts.values.get(name)!);
  }

  start(values: Float64Array): Vec {
    return values;
  }

  accumulate(names: readonly string[], rs: readonly Vec[]): void {
    names.forEach((name, k) => {
      const acc = this.relevance.get(name);
      if (acc) for (let j = 0; j < acc.length; j++) acc[j] += rs[k][j];
      else this.relevance.set(name, Float64Array.from(rs[k]));
    });
  }

  collected(name: string): Vec | undefined {
    return this.relevance.get(name);
  }

  endNode(): void {}

  release(): void {
    this.relevance.clear();
  }

  sumPerSample(v: Vec): number[] {
    const n = v.length / this.batch;
    return Array.from({ length: this.batch }, (_, b) => {
      let s = 0;
      for (let i = b * n; i < (b + 1) * n; i++) s += v[i];
      return s;
    });
  }

  toFloat32(v: Vec): Float32Array {
    return Float32Array.from(v);
  }

  gradient(node: GraphNode, R: Vec): Vec[] {
    return opOf(node).reference.gradient(node, R, this.context);
  }

  affineLayer(node: GraphNode, options: BackwardOptions): AffineLayer<Vec> {
    const { graph, batch } = this;
    const maps = opOf(node).reference.affine;
    if (!maps) return fail('RULE_NOT_APPLICABLE', `node "${node.name}" (${node.op}) has no weights for an affine rule`);
    const x = this.acts.values.get(node.inputs[0])!;
    const inputRange = node.inputs[0] === graph.input.name ? options.inputRange : undefined;
    const xNonNegative = graph.nonNegative.has(node.inputs[0]);
    return { name: node.name, math: referenceArithmetic, x, xNonNegative, batch, inputShape: graph.shape(node.inputs[0]), inputRange, ...maps(node, this.context) };
  }

  jacobianMap(node: GraphNode, held: boolean): LinearMap<Vec> {
    const op = opOf(node);
    const pass = held ? op.reference.linearized : op.reference.gradient;
    if (!pass) return fail('RULE_NOT_APPLICABLE', `node "${node.name}" (${node.op}) has nothing its rule can hold constant`);
    const inputs = node.inputs.map((src) => this.acts.values.get(src)!);
    return { name: node.name, math: referenceArithmetic, inputs, z: this.acts.values.get(node.name)!, transpose: (s) => pass(node, s, this.context) };
  }

  linearMap(node: GraphNode): LinearMap<Vec> {
    const transpose = opOf(node).reference.transpose;
    if (!transpose) return fail('RULE_NOT_APPLICABLE', `norm applies to Add and average pools, not to node "${node.name}" (${node.op})`);
    const inputs = node.inputs.map((src) => this.acts.values.get(src)!);
    return { name: node.name, math: referenceArithmetic, inputs, z: this.acts.values.get(node.name)!, transpose: (s) => transpose(node, s, this.context) };
  }
}
