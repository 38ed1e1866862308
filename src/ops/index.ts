/** The registry: every op of the graph IR, by type. Adding an op is a module and a line here. */
import { fail } from '../errors.js';
import type { GraphNode, OpType } from '../model/ops.js';
import { addOp } from './add.js';
import { avgPoolOp } from './avgpool.js';
import { batchNormOp } from './batchnorm.js';
import { conv2dOp } from './conv2d.js';
import { flattenOp } from './flatten.js';
import { globalAvgPoolOp } from './global-avgpool.js';
import { identityOp } from './identity.js';
import { linearOp } from './linear.js';
import { maxPoolOp } from './maxpool.js';
import type { OpDefinition } from './op.js';
import { padOp } from './pad.js';
import { reluOp } from './relu.js';
import { softmaxOp } from './softmax.js';

export const OPS: { readonly [T in OpType]: OpDefinition<Extract<GraphNode, { op: T }>> } = {
  Conv2d: conv2dOp,
  Linear: linearOp,
  BatchNorm: batchNormOp,
  ReLU: reluOp,
  MaxPool2d: maxPoolOp,
  AvgPool2d: avgPoolOp,
  GlobalAvgPool: globalAvgPoolOp,
  Add: addOp,
  Flatten: flattenOp,
  Pad: padOp,
  Softmax: softmaxOp,
  Identity: identityOp,
};

/** The definition of a node's op (typed for that node). */
export function opOf(node: GraphNode): OpDefinition<GraphNode> {
  const def = (OPS as unknown as Record<string, OpDefinition<GraphNode> | undefined>)[node.op];
  if (!def) return fail('UNSUPPORTED', `node "${node.name}" has unknown op "${(node as { op: string }).op}"`);
  return def;
}

export type { Buf, OpDefinition, ReferenceContext, Role, WasmContext } from './op.js';
