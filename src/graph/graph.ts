import { fail } from '../errors.js';
import type { GraphNode } from './nodes.js';
import { opOf } from '../ops/index.js';
import { inferShape, type Shape } from './shapes.js';

export interface GraphInput {
  name: string;
  /** Per-sample shape [C, H, W]. */
  shape: Shape;
}

/**
 * A validated, topologically ordered graph with every node's output shape known. Construction checks
 * everything an engine relies on (names, order, shapes, weight lengths), so engines can trust it.
 */
export class Graph {
  readonly input: GraphInput;
  readonly nodes: readonly GraphNode[];
  readonly output: string;
  readonly shapes: ReadonlyMap<string, Shape>;
  readonly byName: ReadonlyMap<string, GraphNode>;
  /** For every value name, the nodes that read it. */
  readonly consumers: ReadonlyMap<string, readonly GraphNode[]>;
  /**
   * Values that cannot be negative whatever the input: ReLU and Softmax outputs, and pools, zero pads,
   * reshapes and sums of such values. Sign-aware rules skip their x^- terms without scanning.
   */
  readonly nonNegative: ReadonlySet<string>;

  constructor(input: GraphInput, nodes: GraphNode[], output?: string) {
    if (input.shape.length !== 3 || input.shape.some((d) => !Number.isInteger(d) || d < 1)) {
      fail('BAD_GRAPH', `graph input "${input.name}" must have a per-sample shape [C, H, W] of positive integers, got [${input.shape}]`);
    }
    const shapes = new Map<string, Shape>([[input.name, input.shape]]);
    const byName = new Map<string, GraphNode>();
    const consumers = new Map<string, GraphNode[]>([[input.name, []]]);
    for (const node of nodes) {
      if (shapes.has(node.name)) fail('BAD_GRAPH', `duplicate node name "${node.name}"`);
      for (const src of node.inputs) {
        if (!shapes.has(src)) {
          fail('BAD_GRAPH', `node "${node.name}" (${node.op}) reads "${src}", which is not the graph input or an earlier node`);
        }
      }
      const inShapes = node.inputs.map((src) => shapes.get(src)!);
      shapes.set(node.name, inferShape(node, inShapes));
      byName.set(node.name, node);
      consumers.set(node.name, []);
      for (const src of node.inputs) consumers.get(src)!.push(node);
    }
    const out = output ?? nodes[nodes.length - 1]?.name;
    if (out === undefined || !byName.has(out)) fail('BAD_GRAPH', `graph output "${out}" is not a node of the graph`);
    this.input = input;
    this.nodes = nodes;
    this.output = out;
    this.shapes = shapes;
    this.byName = byName;
    this.consumers = consumers;
    this.nonNegative = nonNegativeValues(nodes);
  }

  shape(name: string): Shape {
    const s = this.shapes.get(name);
    if (!s) fail('BAD_GRAPH', `no value named "${name}" in the graph`);
    return s;
  }

  /** The node whose output the explanation starts from: the output, or the input of a final Softmax or Sigmoid. */
  get logitsName(): string {
    const last = this.byName.get(this.output)!;
    return last.op === 'Softmax' || last.op === 'Sigmoid' ? last.inputs[0] : this.output;
  }

  /**
   * How the logits become probabilities: each through a sigmoid where the graph ends in a Sigmoid
   * (a multi-label or binary head) or has one output (a binary classifier's logit: a softmax over one
   * value would say 1.0 for every photo); otherwise a softmax over the classes.
   */
  get head(): 'softmax' | 'sigmoid' {
    return this.byName.get(this.output)!.op === 'Sigmoid' || this.numClasses === 1 ? 'sigmoid' : 'softmax';
  }

  /** The nodes that the value `name` depends on (including its own node), in topological order. */
  upstream(name: string): GraphNode[] {
    const needed = new Set<string>([name]);
    for (let i = this.nodes.length - 1; i >= 0; i--) {
      const node = this.nodes[i];
      if (needed.has(node.name)) for (const src of node.inputs) needed.add(src);
    }
    return this.nodes.filter((n) => needed.has(n.name));
  }

  get numClasses(): number {
    return size(this.shape(this.logitsName));
  }
}

export function size(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function nonNegativeValues(nodes: readonly GraphNode[]): Set<string> {
  const set = new Set<string>();
  for (const node of nodes) {
    const declared = opOf(node).sign;
    const sign = typeof declared === 'function' ? declared(node) : declared;
    if (sign === 'always' || (sign === 'keeps' && node.inputs.every((src) => set.has(src)))) set.add(node.name);
  }
  return set;
}
