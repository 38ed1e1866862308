import { RelpropError } from '../errors.js';
import { Graph } from '../graph/graph.js';
import type { GraphNode } from '../graph/nodes.js';
import { inferShape, type Shape } from '../graph/shapes.js';

/**
 * The graph an importer builds, shared by the ONNX, Keras and graph-model readers: nodes in order, each
 * with its shape inferred (and so its parameters checked) as it comes. An error names the format
 * ("ONNX model: ...", "graph model: ..."). The graph keeps only what its output depends on: a rewrite
 * that reads x * sigmoid(x) as SiLU, or two clips as one, leaves the nodes it replaced unread.
 */
export class Emitter {
  readonly nodes: GraphNode[] = [];
  readonly shapes = new Map<string, Shape>();
  readonly byName = new Map<string, GraphNode>();
  private input: { name: string; shape: Shape } | null = null;

  constructor(readonly label: string) {}

  setInput(name: string, shape: Shape): void {
    this.input = { name, shape };
    this.shapes.set(name, shape);
  }

  get inputName(): string | undefined {
    return this.input?.name;
  }

  add(node: GraphNode): string {
    this.labelled(() => this.shapes.set(node.name, inferShape(node, node.inputs.map((s) => this.shapes.get(s)!))));
    this.nodes.push(node);
    this.byName.set(node.name, node);
    return node.name;
  }

  shape(name: string): Shape {
    return this.shapes.get(name)!;
  }

  /** The graph up to `output`: a Softmax only as its last node (explanations start at the logits). */
  graph(output: string): Graph {
    const input = this.input;
    if (!input) throw new RelpropError('UNSUPPORTED', `${this.label}: the output does not depend on an image input`);
    const live = new Set([output]);
    for (let i = this.nodes.length - 1; i >= 0; i--) if (live.has(this.nodes[i].name)) for (const src of this.nodes[i].inputs) live.add(src);
    const nodes = this.nodes.filter((n) => live.has(n.name));
    // A softmax over the classes before the output (a transformer's attention weights are of higher rank).
    const softmax = nodes.find((n) => n.op === 'Softmax' && n.name !== output && this.shape(n.name).length === 1);
    if (softmax) throw new RelpropError('UNSUPPORTED', `${this.label} applies Softmax ("${softmax.name}") before its output; relprop explains logits and reads a Softmax only as the last node`);
    return this.labelled(() => new Graph(input, nodes, output));
  }

  private labelled<T>(f: () => T): T {
    try {
      return f();
    } catch (e) {
      if (e instanceof RelpropError) throw new RelpropError(e.code, `${this.label}: ${e.message}`);
      throw e;
    }
  }
}
