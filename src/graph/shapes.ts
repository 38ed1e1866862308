import { fail } from '../errors.js';
import { opOf } from '../ops/index.js';
import { where, type Shape } from './node.js';
import type { GraphNode } from './nodes.js';

export type { Shape } from './node.js';

export { windowOut } from '../ops/shapes.js';

/** Output shape of a node from its input shapes; also validates the node's parameters (its op module does). */
export function inferShape(node: GraphNode, ins: Shape[]): Shape {
  const def = opOf(node);
  if (def.arity === 1 && ins.length !== 1) fail('BAD_GRAPH', `${where(node)} takes one input, got ${ins.length}`);
  if (def.arity === 'many' && ins.length < 2) fail('BAD_GRAPH', `${where(node)} needs at least two inputs, got ${ins.length}`);
  return def.shape(node, ins);
}
