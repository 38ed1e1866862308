/**
 * The ONNX importer on a transformer's patterns beyond the ViT fixture, and on hostile ones (a review's
 * cases): a scalar scale after a MatMul on tokens (not folded into the Linear as a BatchNorm of the
 * wrong axis), a final softmax over a [1, K] value (explanations still start at the logits), relprop's
 * own export of a class token read back, constants joined on both sides of a value, and constant
 * folding refusing what it cannot hold.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { create, toBinary } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
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
} from 'onnx-buf';
import { exportOnnx, Graph, Model } from '../src/index.js';
import type { GraphNode } from '../src/graph/nodes.js';
import { importOnnx } from '../src/io/onnx/import.js';
import { runOrt } from './helpers/ort.js';
import { ROOT } from './helpers/cli.js';

const vi = (name: string, dims: number[]) =>
  create(ValueInfoProtoSchema, { name, type: create(TypeProtoSchema, { value: { case: 'tensorType', value: create(TypeProto_TensorSchema, { elemType: 1, shape: create(TensorShapeProtoSchema, { dim: dims.map((d) => create(TensorShapeProto_DimensionSchema, { value: { case: 'dimValue', value: BigInt(d) } })) }) }) } }) });
const f32 = (name: string, dims: number[], v?: number[]) => create(TensorProtoSchema, { name, dims: dims.map(BigInt), dataType: TensorProto_DataType.FLOAT, floatData: v ?? new Array(dims.reduce((a, b) => a * b, 1)).fill(0) });
const i64 = (name: string, data: number[], dims = [data.length]) => create(TensorProtoSchema, { name, dims: dims.map(BigInt), dataType: TensorProto_DataType.INT64, int64Data: data.map(BigInt) });
const node = (opType: string, input: string[], output: string, attribute: ReturnType<typeof axis>[] = []) => create(NodeProtoSchema, { opType, input, output: [output], attribute });
const axis = (v: number) => create(AttributeProtoSchema, { name: 'axis', type: AttributeProto_AttributeType.INT, i: BigInt(v) });
function onnx(nodes: ReturnType<typeof node>[], initializer: ReturnType<typeof f32>[], output: [string, number[]]): Uint8Array {
  const graph = create(GraphProtoSchema, { name: 'g', node: nodes, initializer, input: [vi('x', [1, 3, 4, 4])], output: [vi(...output)] });
  return toBinary(ModelProtoSchema, create(ModelProtoSchema, { irVersion: 7n, opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: 13n })], graph }));
}
const x = Float32Array.from({ length: 48 }, (_, i) => Math.cos(i));
const relL2 = (a: ArrayLike<number>, b: ArrayLike<number>) => Math.sqrt(Array.from(a).reduce((s, v, i) => s + (v - b[i]) ** 2, 0) / Array.from(b).reduce((s, v) => s + v * v, 0));

describe('ONNX: a transformer\'s patterns', () => {
  it('a scalar scale after a MatMul on tokens stays a scale of its own (equal to onnxruntime-web)', async () => {
    const W = Array.from({ length: 16 * 5 }, (_, i) => ((i % 7) - 3) / 10);
    const bytes = onnx([node('Reshape', ['x', 's1'], 'r'), node('MatMul', ['r', 'W'], 'm'), node('Mul', ['m', 'half'], 'y0'), node('Reshape', ['y0', 's2'], 'y')], [i64('s1', [1, 3, 16]), f32('W', [16, 5], W), f32('half', [], [0.5]), i64('s2', [1, 15])], ['y', [1, 15]]);
    const ort = await runOrt(bytes, x, [1, 3, 4, 4]);
    for (const backend of ['reference', 'wasm'] as const) expect(relL2(await new Model(importOnnx(bytes)).forward(x, { backend, threads: 1 }), ort), backend).toBeLessThanOrEqual(1e-6);
  });

  it('a final softmax over a [1, K] value stays last: explanations start at the logits before it', async () => {
    const w = (n: number, s: number) => Float32Array.from({ length: n }, (_, i) => Math.round(Math.sin(s * 7.1 + i * 1.3) * 64) / 128);
    const graph = new Graph({ name: 'x', shape: [1, 3, 4] }, [
      { op: 'Reshape', name: 't', inputs: ['x'], shape: [3, 4] },
      { op: 'LayerNorm', name: 'ln', inputs: ['t'], features: 4, weight: w(4, 1), bias: null, epsilon: 1e-6 },
      { op: 'Take', name: 'cls', inputs: ['ln'], axis: 0, index: 0 },
      { op: 'Linear', name: 'head', inputs: ['cls'], inFeatures: 4, outFeatures: 5, weight: w(20, 3), bias: w(5, 4) },
      { op: 'Softmax', name: 'prob', inputs: ['head'] },
    ] as GraphNode[]);
    const back = importOnnx(exportOnnx(new Model(graph)));
    expect(back.nodes[back.nodes.length - 1].op).toBe('Softmax');
    const v = Float32Array.from({ length: 12 }, (_, i) => Math.cos(i));
    const [a, b] = [await new Model(graph).forward(v, { backend: 'reference' }), await new Model(back).forward(v, { backend: 'reference' })];
    expect(relL2(b, a)).toBeLessThanOrEqual(1e-6);
  });

  it("a written-out LayerNorm whose weight and shift are Identity copies of other initializers (PyTorch's dedup of equal parameters) fuses", async () => {
    const axes = create(AttributeProtoSchema, { name: 'axes', type: AttributeProto_AttributeType.INTS, ints: [-1n] });
    const nodes = [
      node('Reshape', ['x', 's'], 't'),
      node('ReduceMean', ['t'], 'mean', [axes]),
      node('Sub', ['t', 'mean'], 'c'),
      node('Pow', ['c', 'two'], 'sq'),
      node('ReduceMean', ['sq'], 'var', [axes]),
      node('Add', ['var', 'eps'], 've'),
      node('Sqrt', ['ve'], 'sd'),
      node('Div', ['c', 'sd'], 'u'),
      node('Identity', ['w0'], 'w'),
      node('Identity', ['b0'], 'b'),
      node('Mul', ['u', 'w'], 'uw'),
      node('Add', ['uw', 'b'], 'ln'),
      node('Reshape', ['ln', 'flat'], 'y'),
    ];
    const ramp = (n: number, k: number) => Array.from({ length: n }, (_, i) => 1 + k * Math.sin(i));
    const bytes = onnx(nodes, [i64('s', [1, 3, 16]), f32('two', [], [2]), f32('eps', [], [1e-6]), f32('w0', [16], ramp(16, 0.3)), f32('b0', [16], ramp(16, 0.1)), i64('flat', [1, 48])], ['y', [1, 48]]);
    const graph = importOnnx(bytes);
    expect(graph.nodes.filter((n) => n.op === 'LayerNorm')).toHaveLength(1);
    const ort = await runOrt(bytes, x, [1, 3, 4, 4]);
    for (const backend of ['reference', 'wasm'] as const) expect(relL2(await new Model(graph).forward(x, { backend, threads: 1 }), ort), backend).toBeLessThanOrEqual(1e-6);
  });

  it("a ViT relprop exported reads back (the names its own import made, such as X:whole, are not made again)", async () => {
    const bytes = new Uint8Array(readFileSync(join(ROOT, 'spec/fixtures/vit/vit.onnx')));
    const model = new Model(importOnnx(bytes));
    const back = new Model(importOnnx(exportOnnx(model)));
    const v = Float32Array.from({ length: 3 * 32 * 32 }, (_, i) => Math.sin(i));
    expect(relL2(await back.forward(v, { threads: 1 }), await model.forward(v, { threads: 1 }))).toBeLessThanOrEqual(1e-6);
  });

  it('a Concat of constants on both sides of a value (DeiT-like tokens, and one after): equal to onnxruntime-web', async () => {
    const c = (name: string, rows: number, at: number) => f32(name, [1, rows, 16], Array.from({ length: rows * 16 }, (_, i) => Math.sin(at + i)));
    const bytes = onnx([node('Reshape', ['x', 's'], 't'), node('Concat', ['A', 'B', 't', 'C'], 'cat', [axis(1)]), node('Reshape', ['cat', 'flat'], 'y')], [i64('s', [1, 3, 16]), c('A', 1, 0), c('B', 2, 50), c('C', 1, 99), i64('flat', [1, 112])], ['y', [1, 112]]);
    const graph = importOnnx(bytes);
    expect(graph.nodes.filter((n) => n.op === 'ConstantConcat').map((n) => [(n as { at: string }).at, (n as { constantShape: number[] }).constantShape])).toEqual([['start', [1, 3, 16]], ['end', [1, 1, 16]]]);
    const ort = await runOrt(bytes, x, [1, 3, 4, 4]);
    for (const backend of ['reference', 'wasm'] as const) expect(relL2(await new Model(graph).forward(x, { backend, threads: 1 }), ort), backend).toBeLessThanOrEqual(1e-7);
    expect(() => importOnnx(onnx([node('Reshape', ['x', 's'], 't'), node('Concat', ['t', 'A', 't'], 'cat', [axis(1)]), node('Reshape', ['cat', 'flat'], 'y')], [i64('s', [1, 3, 16]), c('A', 1, 0), i64('flat', [1, 112])], ['y', [1, 112]]))).toThrow(/Concat of 3 inputs, 2 of them computed; relprop reads one computed value joined with constants/);
  });

  it("relprop's export of a class token (Shape, Slice, Concat, Expand of constants) reads back", async () => {
    const graph = new Graph({ name: 'x', shape: [1, 3, 4] }, [
      { op: 'Reshape', name: 't', inputs: ['x'], shape: [3, 4] },
      { op: 'ConstantConcat', name: 'cat', inputs: ['t'], axis: 0, constant: Float32Array.of(1, 2, 3, 4), constantShape: [1, 4], at: 'start' },
      { op: 'Take', name: 'cls', inputs: ['cat'], axis: 0, index: 1 },
      { op: 'Linear', name: 'head', inputs: ['cls'], inFeatures: 4, outFeatures: 2, weight: Float32Array.of(1, -1, 0.5, 2, 0, 1, 1, -0.5), bias: null },
    ] as GraphNode[]);
    const back = importOnnx(exportOnnx(new Model(graph)));
    expect(back.nodes.some((n) => n.op === 'ConstantConcat')).toBe(true);
    const v = Float32Array.from({ length: 12 }, (_, i) => Math.sin(i));
    expect(relL2(await new Model(back).forward(v, { backend: 'reference' }), await new Model(graph).forward(v, { backend: 'reference' }))).toBeLessThanOrEqual(1e-7);
  });

  it('constant folding refuses what it cannot hold, naming the node, and copies large constants without a crash', () => {
    const flat = (nodes: ReturnType<typeof node>[], inits: ReturnType<typeof f32>[]) => onnx([...nodes, node('Flatten', ['x'], 'y')], inits, ['y', [1, 48]]);
    expect(() => importOnnx(flat([node('Concat', ['A', 'A'], 'c', [axis(0)])], [f32('A', [300000])]))).not.toThrow();
    expect(() => importOnnx(flat([node('Gather', ['C', 'j'], 'c', [axis(0)])], [f32('C', [64, 4096]), i64('j', new Array(1 << 16).fill(0))]))).toThrow(/\(Gather\): a constant of 268435456 values computed at import/);
    expect(() => importOnnx(flat([node('Add', ['', ''], 'c')], []))).toThrow(/\(Add\) lacks an input it needs/);
    expect(() => importOnnx(flat([node('Concat', ['s', 's'], 'c', [axis(0)])], [i64('s', [1], [])]))).toThrow(/axis 0 of a constant of rank 0/);
  });
});
