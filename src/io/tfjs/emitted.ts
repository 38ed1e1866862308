import { RelpropError } from '../../errors.js';
import type { GraphNode } from '../../graph/nodes.js';
import { inferShape, type Shape } from '../../graph/shapes.js';

/**
 * The nodes a TF.js importer emits, in order, each with its shape inferred (and so its parameters
 * checked) as it comes; a shape error names the importer ("Keras model: ...", "graph model: ...").
 */
export class Emitted {
  readonly nodes: GraphNode[] = [];
  readonly shapes = new Map<string, Shape>();
  readonly byName = new Map<string, GraphNode>();

  constructor(private readonly label: string) {}

  add(node: GraphNode): string {
    try {
      this.shapes.set(node.name, inferShape(node, node.inputs.map((s) => this.shapes.get(s)!)));
    } catch (e) {
      if (e instanceof RelpropError) throw new RelpropError(e.code, `${this.label}: ${e.message}`);
      throw e;
    }
    this.nodes.push(node);
    this.byName.set(node.name, node);
    return node.name;
  }
}
