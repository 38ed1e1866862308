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
import { foldedWeight } from '../../model/canonicalize.js';
import type { Graph } from '../../model/graph.js';
import type { Model } from '../../model.js';
import type { Pads } from '../../model/ops.js';

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
function int64Tensor(name: string, data: number[]): TensorProto {
  return create(TensorProtoSchema, { name, dims: [BigInt(data.length)], dataType: TensorProto_DataType.INT64, int64Data: data.map(BigInt) });
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

/** Writes a model's graph as ONNX (opset 13), weights included, with a symbolic batch dimension. */
export function exportOnnx(model: Model | Graph): Uint8Array {
  const graph = 'graph' in model ? model.graph : model;
  const nodes: NodeProto[] = [];
  const initializers: TensorProto[] = [];
  const node = (opType: string, name: string, inputs: string[], attribute: AttributeProto[] = []) => nodes.push(create(NodeProtoSchema, { opType, name, input: inputs, output: [name], attribute }));
  for (const n of graph.nodes) {
    switch (n.op) {
      case 'Conv2d': {
        initializers.push(floatTensor(`${n.name}.weight`, [n.outChannels, n.inChannels, ...n.kernel], foldedWeight(n)));
        const inputs = [n.inputs[0], `${n.name}.weight`];
        if (n.bias) {
          initializers.push(floatTensor(`${n.name}.bias`, [n.outChannels], n.bias));
          inputs.push(`${n.name}.bias`);
        }
        node('Conv', n.name, inputs, [ints('kernel_shape', n.kernel), ints('strides', n.stride), ints('pads', onnxPads(n.pads)), ints('dilations', n.dilation), int('group', n.groups)]);
        break;
      }
      case 'Linear': {
        initializers.push(floatTensor(`${n.name}.weight`, [n.outFeatures, n.inFeatures], foldedWeight(n)));
        const inputs = [n.inputs[0], `${n.name}.weight`];
        if (n.bias) {
          initializers.push(floatTensor(`${n.name}.bias`, [n.outFeatures], n.bias));
          inputs.push(`${n.name}.bias`);
        }
        node('Gemm', n.name, inputs, [int('transB', 1)]);
        break;
      }
      case 'BatchNorm':
        for (const [key, data] of [['scale', n.gamma], ['bias', n.beta], ['mean', n.mean], ['var', n.variance]] as const) {
          initializers.push(floatTensor(`${n.name}.${key}`, [n.channels], data));
        }
        node('BatchNormalization', n.name, [n.inputs[0], `${n.name}.scale`, `${n.name}.bias`, `${n.name}.mean`, `${n.name}.var`], [float('epsilon', n.epsilon)]);
        break;
      case 'ReLU':
        node('Relu', n.name, n.inputs);
        break;
      case 'MaxPool2d':
        node('MaxPool', n.name, n.inputs, [ints('kernel_shape', n.kernel), ints('strides', n.stride), ints('pads', onnxPads(n.pads))]);
        break;
      case 'AvgPool2d':
        node('AveragePool', n.name, n.inputs, [ints('kernel_shape', n.kernel), ints('strides', n.stride), ints('pads', onnxPads(n.pads)), int('count_include_pad', n.countIncludePad ? 1 : 0)]);
        break;
      case 'GlobalAvgPool':
        node('GlobalAveragePool', n.name, n.inputs);
        break;
      case 'Add':
        node(n.inputs.length === 2 ? 'Add' : 'Sum', n.name, n.inputs);
        break;
      case 'Flatten':
        node('Flatten', n.name, n.inputs, [int('axis', 1)]);
        break;
      case 'Pad':
        initializers.push(int64Tensor(`${n.name}.pads`, [0, 0, n.pads[0], n.pads[1], 0, 0, n.pads[2], n.pads[3]]));
        node('Pad', n.name, [n.inputs[0], `${n.name}.pads`]);
        break;
      case 'Softmax':
        node('Softmax', n.name, n.inputs, [int('axis', 1)]);
        break;
      case 'Identity':
        node('Identity', n.name, n.inputs);
        break;
    }
  }
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
