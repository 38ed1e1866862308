import { create, toBinary } from '@bufbuild/protobuf';
import {
  AttributeProto_AttributeType,
  AttributeProtoSchema,
  GraphProtoSchema,
  ModelProtoSchema,
  NodeProtoSchema,
  OperatorSetIdProtoSchema,
  TensorProto_DataType,
  TensorProtoSchema,
  TensorShapeProto_DimensionSchema,
  TensorShapeProtoSchema,
  TypeProto_TensorSchema,
  TypeProtoSchema,
  ValueInfoProtoSchema,
  type AttributeProto,
  type NodeProto,
  type TensorProto,
} from 'onnx-buf';
import { foldedWeight } from '../../graph/canonicalize.js';
import type { Graph } from '../../graph/graph.js';
import type { Model } from '../../model/model.js';
import type { GraphNode, OpType, Pads } from '../../graph/nodes.js';
import type { Conv2dNode, LinearNode } from '../../ops/index.js';

const OPSET = 13;

function ints(name: string, values: readonly number[]): AttributeProto {
  return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.INTS, ints: values.map(BigInt) });
}
function int(name: string, value: number): AttributeProto {
  return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.INT, i: BigInt(value) });
}
function float(name: string, value: number): AttributeProto {
  return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.FLOAT, f: value });
}

function floatTensor(name: string, dims: number[], data: Float32Array): TensorProto {
  // rawData is little-endian float32, as wasm and every platform relprop runs on store it.
  return create(TensorProtoSchema, { name, dims: dims.map(BigInt), dataType: TensorProto_DataType.FLOAT, rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice() });
}
function int64Tensor(name: string, data: number[], dims: number[] = [data.length]): TensorProto {
  return create(TensorProtoSchema, { name, dims: dims.map(BigInt), dataType: TensorProto_DataType.INT64, int64Data: data.map(BigInt) });
}

/** ONNX pads are [begin of each axis..., end of each axis...]: [top, left, bottom, right] for H, W. */
const onnxPads = (p: Pads) => [p[0], p[1], p[2], p[3]];

function valueInfo(name: string, dims: (number | string)[]) {
  return create(ValueInfoProtoSchema, {
    name,
    type: create(TypeProtoSchema, {
      value: {
        case: 'tensorType',
        value: create(TypeProto_TensorSchema, {
          elemType: TensorProto_DataType.FLOAT,
          shape: create(TensorShapeProtoSchema, {
            dim: dims.map((d) => create(TensorShapeProto_DimensionSchema, { value: typeof d === 'number' ? { case: 'dimValue', value: BigInt(d) } : { case: 'dimParam', value: d } })),
          }),
        }),
      },
    }),
  });
}

/** What an op's entry writes into: ONNX nodes and their initializers. */
interface Writer {
  node(opType: string, name: string, inputs: string[], attribute?: AttributeProto[]): void;
  initializer(tensor: TensorProto): void;
  /** A value's shape in one sample. */
  shape(name: string): readonly number[];
}

/** An affine layer's weight (BatchNorm folded in) and bias as initializers; the node's inputs. */
function affineInputs(w: Writer, n: Conv2dNode | LinearNode, dims: number[]): string[] {
  w.initializer(floatTensor(`${n.name}.weight`, dims, foldedWeight(n)));
  if (!n.bias) return [n.inputs[0], `${n.name}.weight`];
  w.initializer(floatTensor(`${n.name}.bias`, [dims[0]], n.bias));
  return [n.inputs[0], `${n.name}.weight`, `${n.name}.bias`];
}

/** Each op of the graph IR as ONNX: the type system makes this table cover the registry. */
const EXPORTERS: { readonly [T in OpType]: (n: Extract<GraphNode, { op: T }>, w: Writer) => void } = {
  Conv2d: (n, w) =>
    w.node('Conv', n.name, affineInputs(w, n, [n.outChannels, n.inChannels / n.groups, ...n.kernel]), [
      ints('kernel_shape', n.kernel),
      ints('strides', n.stride),
      ints('pads', onnxPads(n.pads)),
      ints('dilations', n.dilation),
      int('group', n.groups),
    ]),
  // On each row of a sample of more than one axis (a transformer's tokens): MatMul by W^T, then the bias.
  Linear(n, w) {
    if (w.shape(n.inputs[0]).length === 1) return w.node('Gemm', n.name, affineInputs(w, n, [n.outFeatures, n.inFeatures]), [int('transB', 1)]);
    const weight = foldedWeight(n);
    const transposed = new Float32Array(weight.length);
    for (let o = 0; o < n.outFeatures; o++) for (let i = 0; i < n.inFeatures; i++) transposed[i * n.outFeatures + o] = weight[o * n.inFeatures + i];
    w.initializer(floatTensor(`${n.name}.weightT`, [n.inFeatures, n.outFeatures], transposed));
    if (!n.bias) return w.node('MatMul', n.name, [n.inputs[0], `${n.name}.weightT`]);
    w.initializer(floatTensor(`${n.name}.bias`, [n.outFeatures], n.bias));
    w.node('MatMul', `${n.name}.product`, [n.inputs[0], `${n.name}.weightT`]);
    w.node('Add', n.name, [`${n.name}.product`, `${n.name}.bias`]);
  },
  BatchNorm(n, w) {
    for (const [key, data] of [['scale', n.gamma], ['bias', n.beta], ['mean', n.mean], ['var', n.variance]] as const) {
      w.initializer(floatTensor(`${n.name}.${key}`, [n.channels], data));
    }
    w.node('BatchNormalization', n.name, [n.inputs[0], `${n.name}.scale`, `${n.name}.bias`, `${n.name}.mean`, `${n.name}.var`], [float('epsilon', n.epsilon)]);
  },
  ReLU: (n, w) => w.node('Relu', n.name, n.inputs),
  MaxPool2d: (n, w) => w.node('MaxPool', n.name, n.inputs, [ints('kernel_shape', n.kernel), ints('strides', n.stride), ints('pads', onnxPads(n.pads))]),
  AvgPool2d: (n, w) =>
    w.node('AveragePool', n.name, n.inputs, [ints('kernel_shape', n.kernel), ints('strides', n.stride), ints('pads', onnxPads(n.pads)), int('count_include_pad', n.countIncludePad ? 1 : 0)]),
  GlobalAvgPool: (n, w) => w.node('GlobalAveragePool', n.name, n.inputs),
  Add: (n, w) => w.node(n.inputs.length === 2 ? 'Add' : 'Sum', n.name, n.inputs),
  Flatten: (n, w) => w.node('Flatten', n.name, n.inputs, [int('axis', 1)]),
  Pad(n, w) {
    w.initializer(int64Tensor(`${n.name}.pads`, [0, 0, n.pads[0], n.pads[1], 0, 0, n.pads[2], n.pads[3]]));
    w.node('Pad', n.name, [n.inputs[0], `${n.name}.pads`]);
  },
  Softmax: (n, w) => w.node('Softmax', n.name, n.inputs, [int('axis', -1)]),
  Identity: (n, w) => w.node('Identity', n.name, n.inputs),
  Clip(n, w) {
    w.initializer(floatTensor(`${n.name}.min`, [], Float32Array.of(n.min)));
    w.initializer(floatTensor(`${n.name}.max`, [], Float32Array.of(n.max)));
    w.node('Clip', n.name, [n.inputs[0], `${n.name}.min`, `${n.name}.max`]);
  },
  LeakyReLU: (n, w) => w.node('LeakyRelu', n.name, n.inputs, [float('alpha', n.alpha)]),
  Sigmoid: (n, w) => w.node('Sigmoid', n.name, n.inputs),
  Tanh: (n, w) => w.node('Tanh', n.name, n.inputs),
  HardSigmoid: (n, w) => w.node('HardSigmoid', n.name, n.inputs, [float('alpha', n.alpha), float('beta', n.beta)]),
  // Opset 13 has neither HardSwish (14) nor SiLU: each is x times its gate, as PyTorch exports them.
  HardSwish(n, w) {
    w.node('HardSigmoid', `${n.name}.gate`, n.inputs, [float('alpha', 1 / 6), float('beta', 0.5)]);
    w.node('Mul', n.name, [n.inputs[0], `${n.name}.gate`]);
  },
  Concat: (n, w) => w.node('Concat', n.name, n.inputs, [int('axis', 1)]),
  Gate: (n, w) => w.node('Mul', n.name, n.inputs),
  SiLU(n, w) {
    w.node('Sigmoid', `${n.name}.gate`, n.inputs);
    w.node('Mul', n.name, [n.inputs[0], `${n.name}.gate`]);
  },
  // The ops of one sample's axes: axis a of a sample is ONNX's a + 1, after the batch.
  Reshape(n, w) {
    w.initializer(int64Tensor(`${n.name}.shape`, [0, ...n.shape]));
    w.node('Reshape', n.name, [n.inputs[0], `${n.name}.shape`]);
  },
  Transpose: (n, w) => w.node('Transpose', n.name, n.inputs, [ints('perm', [0, ...n.perm.map((a) => a + 1)])]),
  Slice(n, w) {
    for (const [key, v] of [['starts', n.start], ['ends', n.end], ['axes', n.axis + 1]] as const) w.initializer(int64Tensor(`${n.name}.${key}`, [v]));
    w.node('Slice', n.name, [n.inputs[0], `${n.name}.starts`, `${n.name}.ends`, `${n.name}.axes`]);
  },
  Take(n, w) {
    w.initializer(int64Tensor(`${n.name}.index`, [n.index], []));
    w.node('Gather', n.name, [n.inputs[0], `${n.name}.index`], [int('axis', n.axis + 1)]);
  },
  // Opset 13 has no Gelu (20) nor LayerNormalization (17): written out as PyTorch exports them then.
  GELU(n, w) {
    const c = (key: string, v: number) => w.initializer(floatTensor(`${n.name}.${key}`, [], Float32Array.of(v)));
    if (n.approximate === 'none') {
      c('sqrt2', Math.SQRT2);
      c('one', 1);
      c('half', 0.5);
      w.node('Div', `${n.name}.scaled`, [n.inputs[0], `${n.name}.sqrt2`]);
      w.node('Erf', `${n.name}.erf`, [`${n.name}.scaled`]);
      w.node('Add', `${n.name}.phi2`, [`${n.name}.erf`, `${n.name}.one`]);
    } else {
      c('k', Math.sqrt(2 / Math.PI));
      c('cubic', 0.044715);
      c('one', 1);
      c('half', 0.5);
      w.node('Mul', `${n.name}.x2`, [n.inputs[0], n.inputs[0]]);
      w.node('Mul', `${n.name}.x3`, [`${n.name}.x2`, n.inputs[0]]);
      w.node('Mul', `${n.name}.cx3`, [`${n.name}.x3`, `${n.name}.cubic`]);
      w.node('Add', `${n.name}.inner`, [n.inputs[0], `${n.name}.cx3`]);
      w.node('Mul', `${n.name}.scaled`, [`${n.name}.inner`, `${n.name}.k`]);
      w.node('Tanh', `${n.name}.tanh`, [`${n.name}.scaled`]);
      w.node('Add', `${n.name}.phi2`, [`${n.name}.tanh`, `${n.name}.one`]);
    }
    w.node('Mul', `${n.name}.xphi2`, [n.inputs[0], `${n.name}.phi2`]);
    w.node('Mul', n.name, [`${n.name}.xphi2`, `${n.name}.half`]);
  },
  LayerNorm(n, w) {
    w.initializer(floatTensor(`${n.name}.two`, [], Float32Array.of(2)));
    w.initializer(floatTensor(`${n.name}.epsilon`, [], Float32Array.of(n.epsilon)));
    w.initializer(floatTensor(`${n.name}.weight`, [n.features], n.weight));
    w.node('ReduceMean', `${n.name}.mean`, [n.inputs[0]], [ints('axes', [-1])]);
    w.node('Sub', `${n.name}.centred`, [n.inputs[0], `${n.name}.mean`]);
    w.node('Pow', `${n.name}.squared`, [`${n.name}.centred`, `${n.name}.two`]);
    w.node('ReduceMean', `${n.name}.variance`, [`${n.name}.squared`], [ints('axes', [-1])]);
    w.node('Add', `${n.name}.stabilised`, [`${n.name}.variance`, `${n.name}.epsilon`]);
    w.node('Sqrt', `${n.name}.std`, [`${n.name}.stabilised`]);
    w.node('Div', `${n.name}.normal`, [`${n.name}.centred`, `${n.name}.std`]);
    if (!n.bias) {
      w.node('Mul', n.name, [`${n.name}.normal`, `${n.name}.weight`]);
      return;
    }
    w.initializer(floatTensor(`${n.name}.bias`, [n.features], n.bias));
    w.node('Mul', `${n.name}.scaled`, [`${n.name}.normal`, `${n.name}.weight`]);
    w.node('Add', n.name, [`${n.name}.scaled`, `${n.name}.bias`]);
  },
  MatMul: (n, w) => w.node('MatMul', n.name, n.inputs),
  AddConstant(n, w) {
    w.initializer(floatTensor(`${n.name}.constant`, [1, ...w.shape(n.name)], n.constant));
    w.node('Add', n.name, [n.inputs[0], `${n.name}.constant`]);
  },
  // The constant expanded to the batch: [batch] of x's shape, then the constant's own dimensions.
  ConstantConcat(n, w) {
    w.initializer(floatTensor(`${n.name}.constant`, [1, ...n.constantShape], n.constant));
    w.initializer(int64Tensor(`${n.name}.dims`, n.constantShape));
    for (const [key, v] of [['zero', 0], ['one', 1]] as const) w.initializer(int64Tensor(`${n.name}.${key}`, [v]));
    w.node('Shape', `${n.name}.shape`, [n.inputs[0]]);
    w.node('Slice', `${n.name}.batch`, [`${n.name}.shape`, `${n.name}.zero`, `${n.name}.one`]);
    w.node('Concat', `${n.name}.expanded`, [`${n.name}.batch`, `${n.name}.dims`], [int('axis', 0)]);
    w.node('Expand', `${n.name}.tokens`, [`${n.name}.constant`, `${n.name}.expanded`]);
    const parts = n.at === 'start' ? [`${n.name}.tokens`, n.inputs[0]] : [n.inputs[0], `${n.name}.tokens`];
    w.node('Concat', n.name, parts, [int('axis', n.axis + 1)]);
  },
};

/** Writes a model's graph as ONNX (opset 13), weights included, with a symbolic batch dimension. */
export function exportOnnx(model: Model | Graph): Uint8Array {
  const graph = 'graph' in model ? model.graph : model;
  const nodes: NodeProto[] = [];
  const initializers: TensorProto[] = [];
  const writer: Writer = {
    node: (opType, name, inputs, attribute = []) => nodes.push(create(NodeProtoSchema, { opType, name, input: inputs, output: [name], attribute })),
    initializer: (tensor) => initializers.push(tensor),
    shape: (name) => graph.shape(name),
  };
  for (const n of graph.nodes) (EXPORTERS[n.op] as (n: GraphNode, w: Writer) => void)(n, writer);
  const out = graph.shape(graph.output);
  const onnxGraph = create(GraphProtoSchema, {
    name: 'relprop',
    node: nodes,
    initializer: initializers,
    input: [valueInfo(graph.input.name, ['batch', ...graph.input.shape])],
    output: [valueInfo(graph.output, ['batch', ...out])],
  });
  return toBinary(
    ModelProtoSchema,
    create(ModelProtoSchema, { irVersion: 7n, producerName: 'relprop', opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: BigInt(OPSET) })], graph: onnxGraph }),
  );
}
