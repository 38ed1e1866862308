/**
 * The node types of relprop's graph IR. Activations are NCHW (or N x features after Flatten/Linear);
 * shapes stored on nodes are per sample, without the batch dimension. Weights are float32 as they come
 * from trained models; engines widen them as they need.
 */

/** [top, left, bottom, right], as zero padding around the spatial dimensions. */
export type Pads = [number, number, number, number];
export type Pair = [number, number];

export interface NodeBase {
  /** Unique name; also the name of the node's output. */
  name: string;
  /** Names of the nodes (or the graph input) this node reads. */
  inputs: string[];
}

export interface Conv2dNode extends NodeBase {
  op: 'Conv2d';
  inChannels: number;
  outChannels: number;
  kernel: Pair;
  stride: Pair;
  pads: Pads;
  dilation: Pair;
  groups: number;
  /** [outChannels, inChannels, kh, kw] */
  weight: Float32Array;
  /** A BatchNorm folded in (canonicalization): the layer's weights are scale[o] * weight[o, ...] (see foldedWeight). */
  scale?: Float64Array;
  bias: Float32Array | null;
}

export interface LinearNode extends NodeBase {
  op: 'Linear';
  inFeatures: number;
  outFeatures: number;
  /** [outFeatures, inFeatures] (PyTorch layout) */
  weight: Float32Array;
  /** A BatchNorm folded in (canonicalization): the layer's weights are scale[o] * weight[o, ...] (see foldedWeight). */
  scale?: Float64Array;
  bias: Float32Array | null;
}

export interface BatchNormNode extends NodeBase {
  op: 'BatchNorm';
  channels: number;
  gamma: Float32Array;
  beta: Float32Array;
  mean: Float32Array;
  variance: Float32Array;
  epsilon: number;
}

export interface ReLUNode extends NodeBase {
  op: 'ReLU';
}

export interface MaxPool2dNode extends NodeBase {
  op: 'MaxPool2d';
  kernel: Pair;
  stride: Pair;
  /** Padded positions never win (they count as -infinity). */
  pads: Pads;
}

export interface AvgPool2dNode extends NodeBase {
  op: 'AvgPool2d';
  kernel: Pair;
  stride: Pair;
  pads: Pads;
  /** Whether padded zeros count in the divisor (PyTorch's count_include_pad, ONNX's attribute). */
  countIncludePad: boolean;
}

export interface GlobalAvgPoolNode extends NodeBase {
  op: 'GlobalAvgPool';
}

export interface AddNode extends NodeBase {
  op: 'Add';
}

export interface FlattenNode extends NodeBase {
  op: 'Flatten';
}

export interface PadNode extends NodeBase {
  op: 'Pad';
  /** Zero padding of the spatial dimensions. */
  pads: Pads;
}

export interface SoftmaxNode extends NodeBase {
  op: 'Softmax';
}

/** Dropout, Identity and the like from imported models; canonicalization removes them. */
export interface IdentityNode extends NodeBase {
  op: 'Identity';
}

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
  | IdentityNode;

export type OpType = GraphNode['op'];

export const OP_TYPES: readonly OpType[] = [
  'Conv2d',
  'Linear',
  'BatchNorm',
  'ReLU',
  'MaxPool2d',
  'AvgPool2d',
  'GlobalAvgPool',
  'Add',
  'Flatten',
  'Pad',
  'Softmax',
  'Identity',
];

/** Layers with weights that LRP's affine rules (epsilon, z-plus, gamma, ...) apply to. */
export type AffineNode = Conv2dNode | LinearNode;

export function isAffine(node: GraphNode): node is AffineNode {
  return node.op === 'Conv2d' || node.op === 'Linear';
}
