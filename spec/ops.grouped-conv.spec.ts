/**
 * Grouped and depthwise convolutions (issue 14): the reference against an independent construction
 * (each group a plain convolution of its own channels), then the wasm engine against the reference
 * under every affine rule, on random shapes: odd sizes, strides 1-3, 4-sided padding, dilation 1-2,
 * kernels 1-5, depth multipliers 1-3, batch 1-3. Tolerances: float64 against float64 1e-12 of scale;
 * wasm as every wasm comparison (spec/helpers/engines.ts, 1e-4 of scale).
 */
// Plain tests use vitest's it: @fast-check/vitest's runs a function of no arbitraries as a property (40 times).
import { fc, it as property } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { Graph } from '../src/graph/graph.js';
import type { Conv2dNode } from '../src/ops/index.js';
import type { Pads } from '../src/graph/nodes.js';
import { Random } from '../src/architectures/random.js';
import { windowOut } from '../src/graph/shapes.js';
import { conv2d, conv2dTranspose, convGeometry } from '../src/reference/kernels/conv2d.js';
import { createRule } from '../src/rules/index.js';
import { expectClose } from './helpers/compare.js';
import { AFFINE_RULES, compare } from './helpers/engines.js';

const grouped = fc.record({
  batch: fc.integer({ min: 1, max: 3 }),
  groups: fc.integer({ min: 1, max: 5 }),
  /** Input channels per group: 1 makes the layer depthwise. */
  cinG: fc.integer({ min: 1, max: 3 }),
  /** Output channels per group (the depth multiplier of a depthwise layer). */
  coutG: fc.integer({ min: 1, max: 3 }),
  h: fc.integer({ min: 1, max: 13 }),
  w: fc.integer({ min: 1, max: 19 }),
  k: fc.constantFrom(1, 2, 3, 5),
  stride: fc.integer({ min: 1, max: 3 }),
  dilation: fc.integer({ min: 1, max: 2 }),
  pads: fc.tuple(fc.nat(2), fc.nat(2), fc.nat(2), fc.nat(2)),
  bias: fc.boolean(),
  seed: fc.nat(),
});
type Params = typeof grouped extends fc.Arbitrary<infer P> ? P : never;

function layer(p: Params): { node: Conv2dNode; ho: number; wo: number } | null {
  const ho = windowOut(p.h, p.k, p.stride, p.pads[0], p.pads[2], p.dilation);
  const wo = windowOut(p.w, p.k, p.stride, p.pads[1], p.pads[3], p.dilation);
  if (ho < 1 || wo < 1) return null;
  const rng = new Random(p.seed);
  const [cin, cout] = [p.groups * p.cinG, p.groups * p.coutG];
  const node: Conv2dNode = {
    op: 'Conv2d', name: 'conv', inputs: ['x'], inChannels: cin, outChannels: cout, kernel: [p.k, p.k], stride: [p.stride, p.stride],
    pads: p.pads as Pads, dilation: [p.dilation, p.dilation], groups: p.groups,
    weight: rng.normals(cout * p.cinG * p.k * p.k, 0.5), bias: p.bias ? rng.normals(cout, 0.3) : null,
  };
  return { node, ho, wo };
}

describe('grouped convolution', () => {
  property.prop([grouped])('the reference equals one plain convolution per group, forward and transposed', (p) => {
    const made = layer(p);
    fc.pre(made !== null);
    const { node, ho, wo } = made!;
    const { groups, cinG, coutG, batch, h, w } = p;
    const g = convGeometry(node, batch, [node.inChannels, h, w], [node.outChannels, ho, wo]);
    const x = new Random(p.seed + 1).normals(batch * node.inChannels * h * w, 1);
    const dy = new Random(p.seed + 2).normals(batch * node.outChannels * ho * wo, 1);
    const y = conv2d(Float64Array.from(x), g, node.weight, node.bias);
    const dx = conv2dTranspose(Float64Array.from(dy), g, node.weight);
    const perK = cinG * p.k * p.k;
    const yWant = new Float64Array(y.length);
    const dxWant = new Float64Array(dx.length);
    for (let n = 0; n < batch; n++) {
      for (let gi = 0; gi < groups; gi++) {
        const sub = { ...g, batch: 1, cin: cinG, cout: coutG, groups: 1 };
        const xs = Float64Array.from(x.subarray((n * node.inChannels + gi * cinG) * h * w, (n * node.inChannels + (gi + 1) * cinG) * h * w));
        const ws = node.weight.subarray(gi * coutG * perK, (gi + 1) * coutG * perK);
        const bs = node.bias ? node.bias.subarray(gi * coutG, (gi + 1) * coutG) : null;
        yWant.set(conv2d(xs, sub, ws, bs), (n * node.outChannels + gi * coutG) * ho * wo);
        const dys = Float64Array.from(dy.subarray((n * node.outChannels + gi * coutG) * ho * wo, (n * node.outChannels + (gi + 1) * coutG) * ho * wo));
        dxWant.set(conv2dTranspose(dys, sub, ws), (n * node.inChannels + gi * cinG) * h * w);
      }
    }
    expectClose(y, yWant, 1e-12, 'forward');
    expectClose(dx, dxWant, 1e-12, 'transposed');
  });

  property.prop([grouped, fc.constantFrom(...AFFINE_RULES)])('wasm equals the reference under every affine rule', (p, spec) => {
    const made = layer(p);
    fc.pre(made !== null);
    const { node, ho, wo } = made!;
    const graph = new Graph({ name: 'x', shape: [node.inChannels, p.h, p.w] }, [node]);
    const x = new Random(p.seed + 1).uniforms(p.batch * node.inChannels * p.h * p.w, -1, 1);
    const start = Float64Array.from(new Random(p.seed + 2).uniforms(p.batch * node.outChannels * ho * wo, -1, 1));
    compare(graph, x, p.batch, new Map([['conv', createRule(spec)]]), start, `grouped conv ${JSON.stringify(p)} ${JSON.stringify(spec)}`);
  });

  // Groups of 8 inputs and 16 outputs at 3x3, stride 1, on 9x9 maps: each group runs by Winograd
  // (src/wasm/conv-plan.ts winogradPays), with a U of its own per group and transform. LRP-0 is left out:
  // it divides by z unstabilized, and with 72 terms a z near zero is likely; measured, a plain (groups=1)
  // convolution of these sizes misses 1e-4 of scale too on 2 of 5 inputs (by float32 rounding of z).
  it.each(AFFINE_RULES.filter((spec) => spec !== 'lrp0').map((spec) => [JSON.stringify(spec), spec] as const))('Winograd groups equal the reference: %s', (_, spec) => {
    const p: Params = { batch: 2, groups: 2, cinG: 8, coutG: 16, h: 9, w: 9, k: 3, stride: 1, dilation: 1, pads: [1, 1, 1, 1], bias: true, seed: 7 };
    const { node, ho, wo } = layer(p)!;
    const graph = new Graph({ name: 'x', shape: [node.inChannels, p.h, p.w] }, [node]);
    const x = new Random(8).uniforms(p.batch * node.inChannels * p.h * p.w, -1, 1);
    const start = Float64Array.from(new Random(9).uniforms(p.batch * node.outChannels * ho * wo, -1, 1));
    compare(graph, x, p.batch, new Map([['conv', createRule(spec)]]), start, `Winograd groups ${JSON.stringify(spec)}`);
  });

  // MobileNet's depthwise 3x3 layers at stride 1 and 2 on rows long enough for the kernel's unrolled
  // vector paths (assembly/depthwise.ts), with a border on every side.
  it.each([1, 2].flatMap((stride) => AFFINE_RULES.map((spec) => [stride, JSON.stringify(spec), spec] as const)))('depthwise 3x3 at stride %i equals the reference: %s', (stride, _, spec) => {
    const p: Params = { batch: 2, groups: 5, cinG: 1, coutG: 1, h: 11, w: 37, k: 3, stride, dilation: 1, pads: [1, 1, 1, 1], bias: true, seed: 17 };
    const { node, ho, wo } = layer(p)!;
    const graph = new Graph({ name: 'x', shape: [node.inChannels, p.h, p.w] }, [node]);
    const x = new Random(18).uniforms(p.batch * node.inChannels * p.h * p.w, -1, 1);
    const start = Float64Array.from(new Random(19).uniforms(p.batch * node.outChannels * ho * wo, -1, 1));
    compare(graph, x, p.batch, new Map([['conv', createRule(spec)]]), start, `depthwise 3x3 stride ${stride} ${JSON.stringify(spec)}`);
  });

  it('refuses a group count that does not divide the channels, naming the node', () => {
    const node: Conv2dNode = {
      op: 'Conv2d', name: 'features.1.conv', inputs: ['x'], inChannels: 6, outChannels: 4, kernel: [3, 3], stride: [1, 1],
      pads: [1, 1, 1, 1], dilation: [1, 1], groups: 4, weight: new Float32Array(4 * 1 * 9), bias: null,
    };
    expect(() => new Graph({ name: 'x', shape: [6, 5, 5] }, [node])).toThrow(/node "features.1.conv" \(Conv2d\) has groups=4, which must be a positive integer dividing its 6 input and 4 output channels/);
  });
});
