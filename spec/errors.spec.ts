import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { buildModel, RelpropError } from '../src/index.js';
import { Graph } from '../src/model/graph.js';

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
    await rejects(model.explain(good, { composite: 'epsilon-plus-flatt' }), 'UNKNOWN_COMPOSITE', /unknown composite "epsilon-plus-flatt"; known composites: epsilon, epsilon-plus, .*interpretdl/);
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
    expect(() => new Graph({ name: 'x', shape: [2, 4, 4] }, [conv])).toThrow(/node "dw" \(Conv2d\) has groups=2; only groups=1/);
    expect(() => new Graph({ name: 'x', shape: [2, 4, 4] }, [{ ...conv, groups: 1, weight: new Float32Array(5) }])).toThrow(/weight has 5 values, expected 36/);
    expect(() => new Graph({ name: 'x', shape: [2, 2, 2] }, [{ ...conv, groups: 1, weight: new Float32Array(100), kernel: [5, 5], pads: [0, 0, 0, 0], inChannels: 2 }])).toThrow(/does not fit the 2x2 input/);
    expect(() => new Graph({ name: 'x', shape: [2, 4, 4] }, [{ ...conv, groups: 1, weight: new Float32Array(36), inputs: ['y'] }])).toThrow(/reads "y", which is not the graph input or an earlier node/);
  });

  it('a disposed model refuses work', async () => {
    const m = buildModel('vgg11', { inputSize: 32, width: 2, hidden: 4, numClasses: 3 });
    m.dispose();
    await rejects(m.forward(new Float32Array(3 * 32 * 32)), 'BAD_OPTION', /disposed/);
  });
});
