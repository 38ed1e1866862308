import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { explainImage, panelOf } from '../src/app/index.js';
import { buildModel, exportOnnx, loadModel, Model, RelpropError } from '../src/index.js';

const CHELSEA = new URL('../examples/chelsea.png', import.meta.url).pathname;
import { Graph } from '../src/graph/graph.js';

const model = buildModel('resnet18', { inputSize: 16, width: 4, numClasses: 5, seed: 3 });
const good = new Float32Array(3 * 16 * 16).fill(0.5);

async function rejects(p: Promise<unknown> | (() => unknown), code: string, message: RegExp) {
  let error: unknown;
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    error = e;
  }
  expect(error, 'expected an error').toBeInstanceOf(RelpropError);
  expect((error as RelpropError).code).toBe(code);
  expect((error as Error).message).toMatch(message);
}

describe('bad input gives a clear error', () => {
  it('wrong input length names both lengths', async () => {
    await rejects(model.explain(new Float32Array(10)), 'BAD_INPUT', /input has 10 values; the model expects batch x 3 x 16 x 16 = 1 x 768 = 768/);
    await rejects(model.forward(new Float32Array(2 * 768)), 'BAD_INPUT', /holds 2 images: pass \{ batch: 2 \}/);
  });

  it('NaN or Infinity in the input names the position', async () => {
    const x = good.slice();
    x[1 * 256 + 2 * 16 + 5] = NaN;
    await rejects(model.explain(x), 'BAD_INPUT', /input\[293\] is NaN \(image 0, channel 1, row 2, column 5\)/);
    x[293] = Infinity;
    await rejects(model.forward(x), 'BAD_INPUT', /is Infinity/);
  });

  it('out-of-range or non-integer target names the valid range', async () => {
    await rejects(model.explain(good, { target: 5 }), 'BAD_TARGET', /target 5 is not a class index: the model has classes 0\.\.4/);
    await rejects(model.explain(good, { target: -1 }), 'BAD_TARGET', /classes 0\.\.4/);
    await rejects(model.explain(good, { target: 1.5 }), 'BAD_TARGET', /target 1\.5/);
    await rejects(model.explain(good, { target: [1, 2] }), 'BAD_TARGET', /2 targets for a batch of 1/);
    await rejects(model.explain(good, { target: 'tabby' }), 'BAD_TARGET', /"tabby"/);
  });

  it('unknown composite and rule names list the known ones', async () => {
    await rejects(model.explain(good, { composite: 'epsilon-plus-flatt' }), 'UNKNOWN_COMPOSITE', /unknown composite "epsilon-plus-flatt" \(did you mean "epsilon-plus-flat"\?\); known composites: epsilon, epsilon-plus, .*interpretdl/);
    await rejects(model.explain(good, { composite: { name: 'epsilon', overrides: [{ type: 'Conv2d', rule: 'zplsu' }] } }), 'UNKNOWN_RULE', /unknown rule "zplsu"; known rules: lrp0, epsilon/);
    await rejects(model.explain(good, { composite: { name: 'epsilon', overrides: [{ type: 'Conv2d', rule: { rule: 'gamma', gama: 1 } as never }] } }), 'BAD_OPTION', /unknown parameter "gama"/);
  });

  it('overrides that name missing nodes or misapply rules are refused', async () => {
    await rejects(model.explain(good, { composite: { name: 'epsilon', overrides: [{ name: 'layer9.0.conv1', rule: 'flat' }] } }), 'BAD_OPTION', /names node "layer9\.0\.conv1", which is not in the model/);
    await rejects(model.explain(good, { composite: { name: 'epsilon', overrides: [{ type: 'ReLU', rule: 'zplus' }] } }), 'RULE_NOT_APPLICABLE', /rule "zplus" does not apply to node "relu" \(ReLU\)/);
    await rejects(model.explain(good, { composite: { name: 'epsilon', overrides: [{ type: 'Conv' as never, rule: 'flat' }] } }), 'BAD_OPTION', /unknown layer type "Conv"/);
  });

  it('bad rule parameters and options', async () => {
    await rejects(model.explain(good, { composite: { name: 'epsilon', epsilon: -1 } }), 'BAD_OPTION', /epsilon must be a finite number >= 0, got -1/);
    await rejects(model.explain(good, { composite: { name: 'epsilon-alpha2-beta1', alpha: 3, beta: 1 } }), 'BAD_OPTION', /alpha - beta = 1/);
    await rejects(model.explain(good, { initial: 'ones' as never }), 'BAD_OPTION', /initial must be 'one-hot' or 'logit'/);
    await rejects(model.explain(good, { backend: 'gpu' as never }), 'BAD_OPTION', /unknown backend "gpu"; available: wasm, reference/);
    await rejects(model.forward(good, { kernels: 'avx' as never }), 'BAD_OPTION', /unknown kernels "avx"; available: relaxed-simd, simd/);
    await rejects(model.forward(good, { batch: 0 }), 'BAD_INPUT', /batch must be a positive integer/);
  });

  // Without the V8 flag (spec/setup.ts sets it in this process), Node 20 has no relaxed SIMD: asking for
  // those kernels names the problem and the way out instead of failing to compile.
  it.skipIf(Number(process.versions.node.split('.')[0]) >= 22)('relaxed-SIMD kernels on a runtime without them', async () => {
    const script = `import { buildModel } from './src/index.ts';
      const m = buildModel('resnet18', { inputSize: 16, width: 4, numClasses: 5 });
      await m.forward(new Float32Array(768), { kernels: 'simd' });
      try { await m.forward(new Float32Array(768), { kernels: 'relaxed-simd' }); } catch (e) { console.log(e.code, e.message); }`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: new URL('..', import.meta.url).pathname });
    expect(stdout).toMatch(/^UNSUPPORTED this runtime has no relaxed SIMD .*Node 20 needs --experimental-wasm-relaxed-simd/);
  });

  it('unknown architectures and unsupported layers', () => {
    expect(() => buildModel('resnet19')).toThrow(/unknown architecture "resnet19"; known: resnet18, .*vgg19_bn/);
    const conv = { op: 'Conv2d' as const, name: 'dw', inputs: ['x'], inChannels: 2, outChannels: 2, kernel: [3, 3] as [number, number], stride: [1, 1] as [number, number], pads: [1, 1, 1, 1] as [number, number, number, number], dilation: [1, 1] as [number, number], groups: 2, weight: new Float32Array(18), bias: null };
    // Grouped convolutions are supported since issue 14; a group count that does not divide the channels is not.
    expect(() => new Graph({ name: 'x', shape: [2, 4, 4] }, [{ ...conv, groups: 4 }])).toThrow(/node "dw" \(Conv2d\) has groups=4, which must be a positive integer dividing its 2 input and 2 output channels/);
    expect(() => new Graph({ name: 'x', shape: [2, 4, 4] }, [{ ...conv, groups: 1, weight: new Float32Array(5) }])).toThrow(/weight has 5 values, expected 36/);
    expect(() => new Graph({ name: 'x', shape: [2, 2, 2] }, [{ ...conv, groups: 1, weight: new Float32Array(100), kernel: [5, 5], pads: [0, 0, 0, 0], inChannels: 2 }])).toThrow(/does not fit the 2x2 input/);
    expect(() => new Graph({ name: 'x', shape: [2, 4, 4] }, [{ ...conv, groups: 1, weight: new Float32Array(36), inputs: ['y'] }])).toThrow(/reads "y", which is not the graph input or an earlier node/);
  });

  it('a misspelt option is an error naming it, the nearest known one and all of them', async () => {
    expect(() => buildModel('resnet18', { threds: 2 } as never)).toThrow(/buildModel: unknown option "threds" \(did you mean "threads"\?\); known options: seed, inputSize/);
    expect(() => buildModel('resnet18', { sed: 2 } as never)).toThrow(/unknown option "sed" \(did you mean "seed"\?\)/);
    await rejects(model.explain(good, { compsite: 'epsilon' } as never), 'BAD_OPTION', /model\.explain: unknown option "compsite" \(did you mean "composite"\?\); known options: batch, backend, memoryLimit, kernels, threads, target, initial, composite, layers/);
    await rejects(model.forward(good, { composite: 'epsilon' } as never), 'BAD_OPTION', /model\.forward: unknown option "composite"; known options: batch, backend, memoryLimit, kernels, threads$/);
    await rejects(model.gradient(good, { layers: true } as never), 'BAD_OPTION', /model\.gradient: unknown option "layers"/);
    await rejects(model.predict(good, { bacth: 1 } as never), 'BAD_OPTION', /unknown option "bacth" \(did you mean "batch"\?\)/);
    await rejects(loadModel('resnet50-imagenet', { cachedir: '/tmp' } as never), 'BAD_OPTION', /loadModel: unknown option "cachedir" \(did you mean "cacheDir"\?\)/);
    await rejects(explainImage(model, new Uint8Array(8), { topK: 3 } as never), 'BAD_OPTION', /explainImage: unknown option "topK" \(did you mean "topk"\?\)/);
    await rejects(model.explain(good, 'epsilon' as never), 'BAD_OPTION', /options must be an object, got string/);
    // Options left undefined count as not given (so spreading optional settings works).
    await model.explain(good, { composite: undefined, target: undefined });
  });

  it('the library takes targets as the CLI does: index, digits, label in any case, top1; NaN is named', async () => {
    const labelled = new Model(model.graph, { labels: ['tench', 'Egyptian_cat', 'tiger cat', 'b', 'c'] });
    const top = (await labelled.explain(good)).target;
    for (const t of [1, '1', ' 1 ', 'egyptian cat', 'EGYPTIAN_CAT', 'egyptian-cat']) expect((await labelled.explain(good, { target: t })).target, String(t)).toBe(1);
    expect((await labelled.explain(good, { target: 'Tiger_Cat' })).target).toBe(2);
    expect((await labelled.explain(good, { target: 'top1' })).target).toBe(top);
    expect((await labelled.gradient(good, { target: 'tench' })).targets).toEqual([0]);
    await rejects(labelled.explain(good, { target: NaN }), 'BAD_TARGET', /target NaN is not a class index/);
    await rejects(labelled.explain(good, { target: 'egyptian' }), 'BAD_TARGET', /unknown label "egyptian"; did you mean "Egyptian_cat"\?/);
    await rejects(labelled.explain(good, { target: '5' }), 'BAD_TARGET', /target "5" is not a class index: the model has classes 0\.\.4/);
    await rejects(labelled.explain(good, { target: {} as never }), 'BAD_TARGET', /target \{\} is not a class index or label/);
    await rejects(explainImage(labelled, new Uint8Array(8), { target: 'zebra' }), 'BAD_TARGET', /unknown label "zebra"/);
  });

  it('panel sizes are bounded: NaN, fractional or huge heights are refused, very wide photos shrink', async () => {
    const x = { target: { index: 0, label: 'a', probability: 1, logit: 1 }, photo: { width: 4, height: 2, data: new Float32Array(24) }, map: new Float32Array(4), prepared: { height: 2, width: 2, window: { x: 0, y: 0, width: 4, height: 2 } } } as never;
    for (const height of [NaN, 1.5, 0, 1e9]) await rejects(panelOf(x, { height }), 'BAD_OPTION', /panel height must be an integer from 16 to 4096 pixels/);
    await rejects(panelOf(x, { hieght: 10 } as never), 'BAD_OPTION', /panelOf: unknown option "hieght" \(did you mean "height"\?\)/);
    const wide = { ...(x as object), photo: { width: 200_000, height: 2, data: new Float32Array(1_200_000) } } as never;
    const p = await panelOf(wide);
    expect(p.width * p.height).toBeLessThanOrEqual(48e6 + p.width * 28);
    expect(p.width).toBeLessThanOrEqual(8192);
    await rejects(panelOf(wide, { height: 224 }), 'BAD_OPTION', /would be \d+x224 pixels, over 48 million or 8192 wide; give a smaller height/);
    // The user's 8000x500 panorama: scaled to at most 8192 wide (it was 24016x528), its aspect kept.
    const panorama = { ...(x as object), photo: { width: 8000, height: 500, data: new Float32Array(8000 * 500 * 3) } } as never;
    const q = await panelOf(panorama);
    expect(q.width).toBeLessThanOrEqual(8192);
    expect(q.width).toBeGreaterThan(8100);
    expect(Math.abs((q.width - 16) / 3 / (q.height - 28) - 16)).toBeLessThan(0.2);
  });

  it('a model whose input cannot fit is refused from its shapes, before the photo is prepared', async () => {
    // An ONNX file declaring a [1, 3, 20000, 20000] input, as a user might download one.
    const huge = await loadModel(exportOnnx(buildModel('resnet18', { inputSize: 20000, width: 4, numClasses: 5 })));
    const rss = process.memoryUsage().rss;
    await rejects(explainImage(huge, CHELSEA), 'MEMORY_LIMIT', /a run of 1 image of 3x20000x20000 needs at least \d+ MiB of wasm memory \(weights and activations\), more than the 4 GiB wasm32 can address/);
    const big = buildModel('resnet18', { inputSize: 3000, numClasses: 5 });
    await rejects(explainImage(big, CHELSEA), 'MEMORY_LIMIT', /3x3000x3000 needs at least \d+ MiB .*over the limit of 3072 MiB \(raise it with the memoryLimit option\)/);
    expect(() => big.checkMemory({ memoryLimit: 64 * 1024 ** 2 })).toThrow(/over the limit of 64 MiB/);
    expect(process.memoryUsage().rss - rss).toBeLessThan(64 * 1024 ** 2);
  });

  it('a disposed model refuses work', async () => {
    const m = buildModel('vgg11', { inputSize: 32, width: 2, hidden: 4, numClasses: 3 });
    m.dispose();
    await rejects(m.forward(new Float32Array(3 * 32 * 32)), 'DISPOSED', /disposed/);
  });
});
