/**
 * ONNX to relprop's graph IR. Reads the operators that torchvision-, Paddle- and Keras-style ResNets,
 * VGGs, MobileNets, ResNeXts, DenseNets and EfficientNets export to (opset 7 and later) and refuses
 * anything else by name, so a model is either explained exactly as its framework computes it or not at all.
 *
 * Decoding uses @bufbuild/protobuf with the generated ONNX schema (onnx-buf). Protobuf lengths are
 * checked against the bytes that remain, and tensor sizes are checked against the data they point to
 * before anything is allocated, so a hostile file ends in a BAD_MODEL error rather than a huge
 * allocation.
 */
import { fromBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema, TensorProto_DataType, type ModelProto, type ValueInfoProto } from 'onnx-buf';
import { resolveInputShape, type InputShapeOptions } from '../input-shape.js';
import { fail } from '../../errors.js';
import type { Graph } from '../../graph/graph.js';
import type { Shape } from '../../graph/shapes.js';
import { Emitter } from '../emitter.js';
import { OnnxOp, type Reading } from './node.js';
import { CONVERTERS, ONNX_OPERATORS } from './operators.js';
import { TensorReader, type Constant, type ReadExternal } from './tensors.js';
import { fold, FOLDERS } from './folding.js';
import { fuse } from './fusions.js';

export { ONNX_OPERATORS };

export const MIN_OPSET = 7;

export interface OnnxImportOptions {
  /**
   * Reads `length` bytes (to the end without one) at `offset` of an external data file the model names
   * (a path relative to the model file); it must fail if the file does not hold them.
   */
  readExternal?: ReadExternal;
  /** Per-sample input [C, H, W], or its height and width, where the model's input leaves them symbolic. */
  inputShape?: InputShapeOptions['inputShape'];
  inputSize?: InputShapeOptions['inputSize'];
}

function decodeModel(bytes: Uint8Array): ModelProto {
  if (!(bytes instanceof Uint8Array) || bytes.byteLength === 0) fail('BAD_MODEL', 'ONNX model: the file is empty');
  try {
    return fromBinary(ModelProtoSchema, bytes);
  } catch (e) {
    return fail('BAD_MODEL', `ONNX model: not a readable ONNX protobuf (${(e as Error).message}); the file may be truncated or not an ONNX model`);
  }
}

function opsetOf(model: ModelProto): number {
  let version = -1;
  for (const o of model.opsetImport) if (o.domain === '' || o.domain === 'ai.onnx') version = Number(o.version);
  if (version < 0) fail('BAD_MODEL', 'ONNX model: no opset import for the default domain');
  if (version < MIN_OPSET) fail('UNSUPPORTED', `ONNX model uses opset ${version}; relprop reads opset ${MIN_OPSET} and later (re-export with a newer opset)`);
  return version;
}

/**
 * Reads an ONNX model into a validated graph. Weights are copied out of the file; the file's bytes
 * can be released afterwards.
 */
export function importOnnx(bytes: Uint8Array, options: OnnxImportOptions = {}): Graph {
  const model = decodeModel(bytes);
  const opset = opsetOf(model);
  const g = model.graph;
  if (!g) fail('BAD_MODEL', 'ONNX model has no graph');
  const reader = new TensorReader(options.readExternal);

  const constants = new Map<string, Constant>();
  for (const [i, t] of g.initializer.entries()) {
    if (!t.name) fail('BAD_MODEL', `ONNX initializer #${i} has no name`);
    constants.set(t.name, reader.read(t, `ONNX initializer "${t.name}"`));
  }

  const dataInputs = g.input.filter((v) => !constants.has(v.name));
  if (dataInputs.length !== 1) {
    fail('UNSUPPORTED', `ONNX model has ${dataInputs.length} data inputs (${dataInputs.map((v) => `"${v.name}"`).join(', ')}); relprop explains models with one image input`);
  }
  const input = dataInputs[0].name;
  const emitter = new Emitter('ONNX model');
  emitter.setInput(input, inputShape(dataInputs[0], options));

  // How often each value is read: a layer read once can take in the constant added after it.
  const readers = new Map<string, number>();
  for (const n of g.node) for (const v of n.input) if (v) readers.set(v, (readers.get(v) ?? 0) + 1);
  for (const v of g.output) readers.set(v.name, (readers.get(v.name) ?? 0) + 1);
  const names = new Set([...g.input.map((v) => v.name), ...g.initializer.map((t) => t.name), ...g.node.flatMap((n) => n.output)]);
  const fresh = (base: string) => {
    let name = base;
    for (let k = 2; names.has(name) || emitter.byName.has(name); k++) name = `${base}#${k}`;
    return name;
  };
  const reading: Reading = { emitter, opset, reader, constants, alias: new Map([[input, input]]), readers, whole: new Set(), made: new Map(), fresh };

  // One-value constants of Constant nodes, for the fusions' patterns (the loop reads them as it goes).
  const numbers = new Map<string, number>();
  for (const n of g.node) {
    const t = n.opType === 'Constant' ? n.attribute.find((a) => a.name === 'value')?.t : undefined;
    if (t && t.dims.length === 0) {
      const c = reader.read(t, `ONNX Constant "${n.output[0]}"`);
      numbers.set(n.output[0], (c.floats ?? c.ints ?? [])[0]);
    }
  }
  const scalar = (name: string) => numbers.get(name) ?? (constants.get(name)?.floats?.length === 1 ? constants.get(name)!.floats![0] : undefined);
  for (const [index, n] of fuse(g.node, scalar).entries()) {
    const op = new OnnxOp(n, index, reading);
    if (n.domain !== '' && n.domain !== 'ai.onnx') fail('UNSUPPORTED', `${op.where} is in domain "${n.domain}"; relprop reads the default ONNX domain only`);
    if (!op.out) fail('BAD_MODEL', `${op.where} has no output`);
    // A Split's outputs are each a slice (token-operators.ts); other nodes' later outputs go unread.
    for (const extra of n.opType === 'Split' ? [] : n.output.slice(1)) {
      if (extra && readers.has(extra)) fail('UNSUPPORTED', `${op.where}: its output "${extra}" is used; relprop supports only the first output of ${n.opType}`);
    }
    // Arithmetic on constants (an exporter's shape computations) is done here, once.
    if (Object.hasOwn(FOLDERS, n.opType) && n.input.length > 0 && n.input.every((v) => !v || constants.has(v))) {
      constants.set(op.out, fold(n.opType, n.input.map((v) => (v ? constants.get(v)! : undefined)), op));
      continue;
    }
    const converter = Object.hasOwn(CONVERTERS, n.opType) ? CONVERTERS[n.opType] : undefined;
    if (!converter) fail('UNSUPPORTED', `${op.where}: operator "${n.opType}" is not supported; relprop reads ${ONNX_OPERATORS.join(', ')}`);
    const emitted = emitter.nodes.length;
    const held = converter(op);
    if (held === null) continue;
    reading.alias.set(op.out, held);
    // A node read as an alias of an earlier value (a bias folded, a Mul by ones): its readers read that
    // value, so a later rewrite asking whether the value is read once counts them.
    if (held !== op.out && !emitter.nodes.slice(emitted).some((e) => e.name === held)) {
      readers.set(held, (readers.get(held) ?? 0) - 1 + (readers.get(op.out) ?? 0));
    }
  }

  if (g.output.length < 1) fail('BAD_MODEL', 'ONNX graph declares no output');
  const output = reading.alias.get(g.output[0].name);
  if (output === undefined) fail('BAD_MODEL', `ONNX graph output "${g.output[0].name}" is not produced by any node`);
  // Logits held whole ([1, K], a transformer's head on its class token): the batch's 1 dropped.
  if (reading.whole.has(output)) {
    const s = emitter.shape(output);
    if (s.length !== 2 || s[0] !== 1) fail('UNSUPPORTED', `ONNX graph output "${g.output[0].name}" has shape [${s}]; relprop explains [N, classes] logits`);
    // A final softmax stays last, after the logits it reads (explanations start there).
    const last = emitter.byName.get(output)!;
    const logits = emitter.add({ op: 'Reshape', name: fresh(`${last.op === 'Softmax' ? last.inputs[0] : output}:logits`), inputs: [last.op === 'Softmax' ? last.inputs[0] : output], shape: [s[1]] });
    return emitter.graph(last.op === 'Softmax' ? emitter.add({ op: 'Softmax', name: fresh(`${output}:probabilities`), inputs: [logits] }) : logits);
  }
  return emitter.graph(output);
}

function inputShape(v: ValueInfoProto, options: OnnxImportOptions): Shape {
  const t = v.type?.value.case === 'tensorType' ? v.type.value.value : undefined;
  if (!t) fail('BAD_MODEL', `ONNX input "${v.name}" is not a tensor`);
  if (t.elemType !== TensorProto_DataType.FLOAT) fail('UNSUPPORTED', `ONNX input "${v.name}" has element type ${TensorProto_DataType[t.elemType] ?? t.elemType}; relprop reads float32 images`);
  const dims = t.shape?.dim.map((d) => (d.value.case === 'dimValue' && d.value.value > 0 ? Number(d.value.value) : null)) ?? [];
  if (dims.length !== 4) fail('UNSUPPORTED', `ONNX input "${v.name}" has ${dims.length} dimensions; relprop reads [N, C, H, W] images`);
  return resolveInputShape(dims.slice(1), options, `ONNX input "${v.name}"`);
}
