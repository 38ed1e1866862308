/**
 * ONNX import against PyTorch (logits stored by spec/fixtures/onnx/make_fixtures.py) and onnxruntime-web
 * on the same files: torchvision-style ResNets with BasicBlocks and Bottlenecks (one with BatchNorm left
 * in the graph, opset 11), VGGs with folded BatchNorm (opset 9, external data) and without (opset 7),
 * hand-built graphs of the operators PyTorch does not emit (ops_zoo, and face_zoo with those of the face
 * models users brought: Min/Max as a clip, Tanh, GlobalMaxPool, ReduceMax, MatMul and Add apart, a
 * BatchNorm after a dense layer as Mul and Add, a 1-channel input), and bn_eps, whose BatchNormalization
 * epsilon matters: 0.1 over running variances of 0.005-0.05 (dropping it moves the logits by 4.6 times
 * their scale; in resnet_bottleneck_bn, PyTorch's default 1e-5 over variances near 1, by 7e-6 of scale,
 * under the tolerance). dynamic_hw, exported with symbolic height and width, is loaded at two sizes.
 *
 * Tolerance: max |ours - theirs| <= 1e-5 * max |theirs| on logits. Both sides compute in float32 with
 * different summation orders; the observed differences are about 1e-7 of scale.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema, OperatorSetIdProtoSchema } from 'onnx-buf';
import { describe, expect, it } from 'vitest';
import { COMPOSITES, exportOnnx, importOnnx, loadModel, RelpropError } from '../src/index.js';
import { Random } from '../src/architectures/random.js';
import { expectClose } from './helpers/compare.js';
import { fragileNeurons } from './helpers/degenerate.js';
import { runOrt } from './helpers/ort.js';
import { fixtureInputs as inputs } from './helpers/fixture-inputs.js';

const DIR = join(import.meta.dirname, 'fixtures/onnx');
interface Fixture {
  file: string;
  opset: number;
  input: [number, number, number];
  batch: number;
  ops: string[];
  logits: number[] | null;
}
const META = JSON.parse(readFileSync(join(DIR, 'fixtures.json'), 'utf8'));
const FIXTURES: Fixture[] = META.fixtures;
const TOL = 1e-5;


const read = (f: string) => new Uint8Array(readFileSync(join(DIR, f)));
const external = (f: Fixture) => (f.file === 'vgg_bn.onnx' ? [{ path: 'vgg_bn.onnx.data', data: read('vgg_bn.onnx.data') }] : undefined);

describe.each(FIXTURES)('$file (opset $opset: $ops)', (f) => {
  const x = inputs(f.input, f.batch);

  it('logits equal PyTorch and onnxruntime-web, on both engines', async () => {
    const model = await loadModel(join(DIR, f.file));
    expect(model.inputShape).toEqual(f.input);
    const ours = await model.forward(x, { batch: f.batch });
    const reference = await model.forward(x, { batch: f.batch, backend: 'reference' });
    const ortOut = await runOrt(read(f.file), x, [f.batch, ...f.input], external(f));
    if (f.logits) {
      expectClose(ours, f.logits, TOL, 'wasm vs PyTorch');
      expectClose(reference, f.logits, TOL, 'reference vs PyTorch');
      expectClose(ours, ortOut, TOL, 'wasm vs onnxruntime-web');
    } else {
      // ops_zoo ends in Softmax: onnxruntime gives probabilities, our forward the logits before it.
      const endsInSoftmax = model.graph.byName.get(model.graph.output)!.op === 'Softmax';
      expectClose(endsInSoftmax ? await model.predict(x, { batch: f.batch }) : ours, ortOut, TOL, 'outputs vs onnxruntime-web');
      expectClose(reference, ours, TOL, 'reference vs wasm');
    }
  });

  it('explains with every composite; wasm equals the reference', async () => {
    const model = await loadModel(join(DIR, f.file));
    // Noise rather than the smooth fixture input: a smooth image makes near-ties in max-pool windows
    // that float32 and float64 break differently, moving relevance to a neighbouring pixel.
    const x = new Random(11).uniforms(f.batch * f.input.reduce((a, b) => a * b, 1), -2, 2);
    const image0 = x.subarray(0, x.length / f.batch);
    for (const { name: composite } of COMPOSITES) {
      const a = await model.explain(x, { batch: f.batch, composite, target: 1 });
      const b = await model.explain(x, { batch: f.batch, composite, target: 1, backend: 'reference' });
      expect(a.relevance.every(Number.isFinite), composite).toBe(true);
      expect(a.relevance.some((v) => v !== 0), `${composite}: some relevance reaches the input`).toBe(true);
      if (fragileNeurons(model, composite, image0, 1e-5) === 0) {
        expectClose(a.relevance, b.relevance, 1e-4, `${composite} relevance, wasm vs reference`);
      } else {
        // Neurons with a near-zero denominator (these small PyTorch-initialised nets have many under
        // plain epsilon = 1e-6) amplify float32 rounding without bound, so elements cannot match
        // float64; the relevance that reaches the input must still agree in total.
        const total = (r: Float32Array) => r.subarray(0, image0.length).reduce((s, v) => s + v, 0);
        expect(Math.abs(total(a.relevance) - total(b.relevance)), `${composite}: total relevance`).toBeLessThanOrEqual(1e-3 * Math.abs(a.logits[1]) + 1e-3 * Math.abs(total(b.relevance)));
      }
    }
  });

  it('survives exportOnnx: onnxruntime-web on our export gives our logits', async () => {
    const model = await loadModel(join(DIR, f.file));
    const bytes = exportOnnx(model);
    const again = importOnnx(bytes);
    expect(again.nodes.map((n) => n.op)).toEqual(model.graph.nodes.map((n) => n.op));
    // onnxruntime-web on our export computes what our forward computes (probabilities if it ends in Softmax).
    const endsInSoftmax = model.graph.byName.get(model.graph.output)!.op === 'Softmax';
    const ours = endsInSoftmax ? await model.predict(x, { batch: f.batch }) : await model.forward(x, { batch: f.batch });
    expectClose(await runOrt(bytes, x, [f.batch, ...f.input]), ours, TOL, 'onnxruntime-web on exportOnnx');
  });
});

describe('dynamic_hw.onnx: height and width left symbolic (PyTorch dynamic_axes)', () => {
  const f: { file: string; sizes: [number, number][]; batch: number; logits: number[][] } = META.dynamic[0];
  const bytes = read(f.file);

  it('the file leaves batch, height and width symbolic (else the tests below prove nothing)', () => {
    const type = fromBinary(ModelProtoSchema, bytes).graph!.input[0].type!.value;
    expect(type.case).toBe('tensorType');
    const dims = type.case === 'tensorType' ? type.value.shape!.dim.map((d) => d.value.value) : [];
    expect(dims).toEqual(['batch', 3n, 'height', 'width']);
  });

  it('without inputShape, loading from a path or bytes fails saying the size is free and how to give it', async () => {
    for (const source of [join(DIR, f.file), bytes]) {
      const error = await loadModel(source).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(RelpropError);
      expect((error as RelpropError).code).toBe('BAD_OPTION');
      expect((error as RelpropError).message).toMatch(/ONNX input "input".*\?, \?\].*input(Shape|Size)/);
    }
  });

  it.each(f.sizes.map(([h, w], i) => [h, w, i]))('with inputShape [3, %i, %i]: logits equal PyTorch and onnxruntime-web; explain runs', async (h, w, i) => {
    // Two sizes, neither square, the second odd in both dimensions, where the stride-2 convolutions
    // round down (as PyTorch computes it).
    const shape = [3, h, w] as [number, number, number];
    for (const source of [join(DIR, f.file), bytes]) {
      const model = await loadModel(source, { inputShape: shape });
      expect(model.inputShape).toEqual(shape);
      const x = inputs(shape, f.batch);
      const ours = await model.forward(x, { batch: f.batch });
      expectClose(ours, await runOrt(bytes, x, [f.batch, ...shape]), TOL, 'wasm vs onnxruntime-web');
      expectClose(ours, f.logits[i], TOL, 'wasm vs PyTorch');
      expectClose(await model.forward(x, { batch: f.batch, backend: 'reference' }), f.logits[i], TOL, 'reference vs PyTorch');
      const e = await model.explain(x.subarray(0, h * w * 3));
      expect(e.relevance.length).toBe(3 * h * w);
      expect(e.relevance.every(Number.isFinite)).toBe(true);
      expect(e.relevance.some((v) => v !== 0)).toBe(true);
      expectClose(e.logits, ours.subarray(0, e.logits.length), TOL, 'explain logits vs forward');
    }
  });
});

describe('ONNX import refuses what it cannot read, by name', () => {
  const zoo = () => fromBinary(ModelProtoSchema, read('ops_zoo.onnx'));
  const load = (m: ReturnType<typeof zoo>) => () => importOnnx(toBinary(ModelProtoSchema, m));

  it('an unsupported operator: names it, the node, and what is supported', () => {
    const m = zoo();
    m.graph!.node[2].opType = 'Elu';
    m.graph!.node[2].name = 'act1';
    expect(load(m)).toThrow(/node "act1" \(Elu\): operator "Elu" is not supported; relprop reads Constant, Conv, BatchNormalization/);
  });
  it('an opset older than 7', () => {
    const m = zoo();
    m.opsetImport = [create(OperatorSetIdProtoSchema, { domain: '', version: 6n })];
    expect(load(m)).toThrow(/opset 6; relprop reads opset 7 and later/);
  });
  it('a weight computed by the graph instead of stored', () => {
    const m = zoo();
    m.graph!.node[1].input[1] = 'r1';
    expect(load(m)).toThrow(/weight "r1" is computed by the graph/);
  });
  it('a non-zero Pad value and a reflect Pad', () => {
    const m = zoo();
    m.graph!.node[0].attribute.push({ ...m.graph!.node[0].attribute[0], name: 'mode', s: new TextEncoder().encode('reflect') });
    expect(load(m)).toThrow(/mode "reflect"; relprop reads zero padding only/);
  });
  it('a Softmax before the output', () => {
    const m = zoo();
    const relu = m.graph!.node[2];
    relu.opType = 'Softmax';
    expect(load(m)).toThrow(RelpropError);
  });
  it('external data without a path to read it from', () => {
    expect(() => importOnnx(read('vgg_bn.onnx'))).toThrow(/stored in the external file "vgg_bn.onnx.data"; load the model from a path/);
  });
  it('loads the same model from a path, a file:// URL and bytes; an unreachable URL fails clearly', async () => {
    const x = inputs([3, 64, 64], 1);
    const byPath = await (await loadModel(join(DIR, 'resnet_basic.onnx'))).forward(x);
    const byUrl = await (await loadModel(pathToFileURL(join(DIR, 'resnet_basic.onnx')).href)).forward(x);
    const byBytes = await (await loadModel(read('resnet_basic.onnx'))).forward(x);
    expect(Array.from(byUrl)).toEqual(Array.from(byPath));
    expect(Array.from(byBytes)).toEqual(Array.from(byPath));
    await expect(loadModel('http://127.0.0.1:9/model.onnx')).rejects.toMatchObject({ code: 'FETCH_FAILED', message: expect.stringMatching(/cannot fetch http:\/\/127\.0\.0\.1:9\/model\.onnx/) });
  });
  it('a missing file', async () => {
    await expect(loadModel(join(DIR, 'nope.onnx'))).rejects.toThrow(/no model file ".*nope.onnx", and it is not a known model name \(resnet50-imagenet\)/);
  });
});
