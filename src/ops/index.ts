/** The registry: every op of the graph IR, by type. Adding an op is its module and three lines here (import, node type, entry). */
import { fail } from '../errors.js';
import { addOp, type AddNode } from './add.js';
import { avgPoolOp, type AvgPool2dNode } from './avgpool.js';
import { batchNormOp, type BatchNormNode } from './batchnorm.js';
import { conv2dOp, type Conv2dNode } from './conv2d.js';
import { flattenOp, type FlattenNode } from './flatten.js';
import { globalAvgPoolOp, type GlobalAvgPoolNode } from './global-avgpool.js';
import { identityOp, type IdentityNode } from './identity.js';
import { linearOp, type LinearNode } from './linear.js';
import { maxPoolOp, type MaxPool2dNode } from './maxpool.js';
import { clipOp, type ClipNode } from './clip.js';
import { leakyReluOp, type LeakyReLUNode } from './leaky-relu.js';
import { sigmoidOp, type SigmoidNode } from './sigmoid.js';
import { hardSigmoidOp, type HardSigmoidNode } from './hard-sigmoid.js';
import { hardSwishOp, type HardSwishNode } from './hard-swish.js';
import { siluOp, type SiLUNode } from './silu.js';
import { tanhOp, type TanhNode } from './tanh.js';
import { concatOp, type ConcatNode } from './concat.js';
import { gateOp, type GateNode } from './gate.js';
import type { OpDefinition } from './op.js';
import { padOp, type PadNode } from './pad.js';
import { reluOp, type ReLUNode } from './relu.js';
import { softmaxOp, type SoftmaxNode } from './softmax.js';
import { reshapeOp, type ReshapeNode } from './reshape.js';
import { transposeOp, type TransposeNode } from './transpose.js';
import { sliceOp, type SliceNode } from './slice.js';
import { takeOp, type TakeNode } from './take.js';
import { constantConcatOp, type ConstantConcatNode } from './constant-concat.js';
import { geluOp, type GELUNode } from './gelu.js';
import { layerNormOp, type LayerNormNode } from './layer-norm.js';
import { matMulOp, type MatMulNode } from './matmul.js';
import { addConstantOp, type AddConstantNode } from './add-constant.js';

/** A node of the graph IR: one of the registry's node types. */
export type GraphNode =
  | Conv2dNode
  | LinearNode
  | BatchNormNode
  | ReLUNode
  | MaxPool2dNode
  | AvgPool2dNode
  | GlobalAvgPoolNode
  | AddNode
  | FlattenNode
  | PadNode
  | SoftmaxNode
  | ClipNode
  | LeakyReLUNode
  | SigmoidNode
  | HardSigmoidNode
  | HardSwishNode
  | SiLUNode
  | TanhNode
  | ConcatNode
  | GateNode
  | IdentityNode
  | ReshapeNode
  | TransposeNode
  | SliceNode
  | TakeNode
  | ConstantConcatNode
  | GELUNode
  | LayerNormNode
  | MatMulNode
  | AddConstantNode;

export type OpType = GraphNode['op'];

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
  Clip: clipOp,
  LeakyReLU: leakyReluOp,
  Sigmoid: sigmoidOp,
  HardSigmoid: hardSigmoidOp,
  HardSwish: hardSwishOp,
  SiLU: siluOp,
  Tanh: tanhOp,
  Concat: concatOp,
  Gate: gateOp,
  Identity: identityOp,
  Reshape: reshapeOp,
  Transpose: transposeOp,
  Slice: sliceOp,
  Take: takeOp,
  ConstantConcat: constantConcatOp,
  GELU: geluOp,
  LayerNorm: layerNormOp,
  MatMul: matMulOp,
  AddConstant: addConstantOp,
};

export const OP_TYPES = Object.keys(OPS) as OpType[];

/** The definition of a node's op (typed for that node). */
export function opOf(node: GraphNode): OpDefinition<GraphNode> {
  const def = (OPS as unknown as Record<string, OpDefinition<GraphNode> | undefined>)[node.op];
  if (!def) return fail('UNSUPPORTED', `node "${node.name}" has unknown op "${(node as { op: string }).op}"`);
  return def;
}

export type { AddNode, AvgPool2dNode, BatchNormNode, Conv2dNode, FlattenNode, GlobalAvgPoolNode, IdentityNode, LinearNode, MaxPool2dNode, PadNode, ReLUNode, SoftmaxNode, ClipNode };
export type { Buf, OpDefinition, ReferenceContext, Role, WasmContext } from './op.js';
