/**
 * The wasm engine against the float64 reference: every layer type under every rule that applies to it,
 * on random shapes (odd sizes, strides 1-2, 4-sided padding, dilation, kernels 1 to 7, batch 1-3), then
 * whole models under every composite.
 *
 * Tolerance: max |wasm - reference| <= 1e-4 * max |reference| over the whole output (float32 storage
 * and summation against float64). Single elements are not compared relatively: an output near zero
 * after cancellation has no meaningful relative error in float32.
 */
// Plain tests use vitest's it: @fast-check/vitest's runs a function of no arbitraries as a property (40 times).
import { fc, it as property } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { COMPOSITES } from '../src/composites.js';
import { buildModel } from '../src/index.js';
import { Graph } from '../src/graph/graph.js';
import { Model } from '../src/model/model.js';
import type { GraphNode, Pads } from '../src/graph/nodes.js';
import { Random } from '../src/architectures/random.js';
import { windowOut } from '../src/graph/shapes.js';
import { createRule, type RuleSpec } from '../src/rules/index.js';
import type { Rule } from '../src/rules/types.js';
import { WasmEngine } from '../src/wasm/engine.js';
import { fragileNeurons } from './helpers/degenerate.js';
import { sum } from './helpers/layers.js';
import { AFFINE_RULES, compare, engines, expectWasmClose } from './helpers/engines.js';

const conv = fc.record({
  batch: fc.integer({ min: 1, max: 3 }),
  cin: fc.integer({ min: 1, max: 6 }),
  cout: fc.integer({ min: 1, max: 11 }),
  h: fc.integer({ min: 1, max: 13 }),
  w: fc.integer({ min: 1, max: 13 }),
  k: fc.constantFrom(1, 3, 5, 7),
  stride: fc.integer({ min: 1, max: 2 }),
  dilation: fc.integer({ min: 1, max: 2 }),
  pads: fc.tuple(fc.nat(3), fc.nat(3), fc.nat(3), fc.nat(3)),
  bias: fc.boolean(),
  seed: fc.nat(),
});

function random(seed: number, n: number, lo = -1, hi = 1): Float32Array {
  return new Random(seed).uniforms(n, lo, hi);
}

function single(shape: number[], node: GraphNode): Graph {
  return new Graph({ name: 'x', shape }, [node]);
}

describe('each layer and rule: wasm equals the reference', () => {
  property.prop([conv, fc.constantFrom(...AFFINE_RULES)])('Conv2d', (p, spec) => {
    const [kh, kw] = [p.k, p.k];
    const ho = windowOut(p.h, kh, p.stride, p.pads[0], p.pads[2], p.dilation);
    const wo = windowOut(p.w, kw, p.stride, p.pads[1], p.pads[3], p.dilation);
    fc.pre(ho >= 1 && wo >= 1);
    const rng = new Random(p.seed);
    const graph = single([p.cin, p.h, p.w], {
      op: 'Conv2d', name: 'conv', inputs: ['x'], inChannels: p.cin, outChannels: p.cout, kernel: [kh, kw], stride: [p.stride, p.stride],
      pads: p.pads as Pads, dilation: [p.dilation, p.dilation], groups: 1,
      weight: rng.normals(p.cout * p.cin * kh * kw, 0.5), bias: p.bias ? rng.normals(p.cout, 0.3) : null,
    });
    const x = random(p.seed + 1, p.batch * p.cin * p.h * p.w);
    const start = Float64Array.from(random(p.seed + 2, p.batch * p.cout * ho * wo));
    compare(graph, x, p.batch, new Map([['conv', createRule(spec)]]), start, `conv ${JSON.stringify(p)} ${JSON.stringify(spec)}`);
  });

  // A ReLU or a clip from 0 (ReLU6, or any top) that is a convolution's only reader is applied by its
  // kernel as it writes (GEMM, Winograd at 3x3, depthwise: 3x3 by vectors, 5x5 partly one at a time);
  // tops from 0.2 cut most outputs. The layer's own value is then not kept; the clip's gradient reads
  // the clipped values (the same strict mask). A Linear keeps its z (the epsilon rule reads it) and the
  // activation runs on its own.
  property.prop([
    fc.record({ batch: fc.integer({ min: 1, max: 2 }), c: fc.integer({ min: 1, max: 6 }), size: fc.integer({ min: 3, max: 11 }), kind: fc.constantFrom('conv1x1', 'conv3x3', 'depthwise', 'depthwise5x5', 'linear'), top: fc.constantFrom(0.2, 1, 6, Infinity), relu: fc.boolean(), seed: fc.nat() }),
    fc.constantFrom<RuleSpec>('zplus', 'gradient', { rule: 'alpha-beta', alpha: 2, beta: 1 }),
  ])('a ReLU or ReLU6 written by the layer before it', (p, spec) => {
    const rng = new Random(p.seed);
    const k = p.kind === 'conv3x3' || p.kind === 'depthwise' ? 3 : p.kind === 'depthwise5x5' ? 5 : 1;
    const groups = p.kind.startsWith('depthwise') ? p.c : 1;
    const n = p.c * p.size * p.size;
    const layer: GraphNode =
      p.kind === 'linear'
        ? { op: 'Linear', name: 'layer', inputs: ['flat'], inFeatures: n, outFeatures: 2 * p.c, weight: rng.normals(2 * p.c * n, 0.5), bias: rng.normals(2 * p.c, 0.3) }
        : { op: 'Conv2d', name: 'layer', inputs: ['x'], inChannels: p.c, outChannels: p.c, kernel: [k, k], stride: [1, 1], pads: [k >> 1, k >> 1, k >> 1, k >> 1], dilation: [1, 1], groups, weight: rng.normals((p.c * p.c * k * k) / groups, 0.5), bias: rng.normals(p.c, 0.3) };
    const act: GraphNode = p.relu ? { op: 'ReLU', name: 'act', inputs: ['layer'] } : { op: 'Clip', name: 'act', inputs: ['layer'], min: 0, max: p.top };
    const m = p.kind === 'linear' ? 2 * p.c : n;
    const graph = new Graph({ name: 'x', shape: [p.c, p.size, p.size] }, [
      ...(p.kind === 'linear' ? [{ op: 'Flatten', name: 'flat', inputs: ['x'] } as GraphNode] : []),
      layer,
      act,
      { op: 'Flatten', name: 'out', inputs: ['act'] },
      { op: 'Linear', name: 'head', inputs: ['out'], inFeatures: m, outFeatures: 3, weight: rng.normals(3 * m, 0.5), bias: null },
    ]);
    const rules = new Map<string, Rule>([['flat', createRule('pass')], ['layer', createRule(spec)], ['act', createRule(spec === 'gradient' ? 'gradient' : 'pass')], ['out', createRule('pass')], ['head', createRule('gradient')]]);
    const x = random(p.seed + 1, p.batch * n, -2, 2);
    const session = engines[0].run(graph, x, p.batch);
    try {
      if (p.kind === 'linear') expect(session.activation('layer')).toHaveLength(p.batch * m);
      else expect(() => session.activation('layer')).toThrow(/not kept/);
    } finally {
      session.release();
    }
    compare(graph, x, p.batch, rules, Float64Array.from(random(p.seed + 2, p.batch * 3)), `relu-written ${JSON.stringify(p)} ${JSON.stringify(spec)}`);
  });

  // Strided 1x1 convolutions without top/left padding gather their sampled inputs and run as pointwise
  // ones (their transposes scatter back); widths up to 21 reach the four-lane path at stride 2. Bottom
  // and right padding may leave outputs that sample nothing: those stay on the im2col path.
  property.prop([
    fc.record({
      batch: fc.integer({ min: 1, max: 2 }),
      cin: fc.integer({ min: 1, max: 9 }),
      cout: fc.integer({ min: 1, max: 11 }),
      h: fc.integer({ min: 1, max: 15 }),
      w: fc.integer({ min: 1, max: 21 }),
      stride: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
      padsBR: fc.tuple(fc.nat(2), fc.nat(2)),
      bias: fc.boolean(),
      seed: fc.nat(),
    }),
    fc.constantFrom(...AFFINE_RULES),
  ])('Conv2d 1x1 strided', (p, spec) => {
    const pads: Pads = [0, 0, p.padsBR[0], p.padsBR[1]];
    const ho = windowOut(p.h, 1, p.stride[0], 0, pads[2]);
    const wo = windowOut(p.w, 1, p.stride[1], 0, pads[3]);
    fc.pre(ho >= 1 && wo >= 1);
    const rng = new Random(p.seed);
    const graph = single([p.cin, p.h, p.w], {
      op: 'Conv2d', name: 'conv', inputs: ['x'], inChannels: p.cin, outChannels: p.cout, kernel: [1, 1], stride: p.stride,
      pads, dilation: [1, 1], groups: 1,
      weight: rng.normals(p.cout * p.cin, 0.5), bias: p.bias ? rng.normals(p.cout, 0.3) : null,
    });
    const x = random(p.seed + 1, p.batch * p.cin * p.h * p.w);
    const start = Float64Array.from(random(p.seed + 2, p.batch * p.cout * ho * wo));
    compare(graph, x, p.batch, new Map([['conv', createRule(spec)]]), start, `1x1 conv ${JSON.stringify(p)} ${JSON.stringify(spec)}`);
  });

  // 3x3 stride-1 convolutions with at least 8 input and 16 output channels and 49+ output positions run
  // by Winograd F(2x2, 3x3) (assembly/winograd.ts), and so do their transposed passes with 16+ input
  // channels (a 3x3 convolution of the relevance), reading the U of the node's forward pass, or, below
  // 16 output channels, filling it themselves; odd sizes leave partial tiles and channel blocks.
  property.prop([
    fc.record({
      batch: fc.integer({ min: 1, max: 2 }),
      cin: fc.integer({ min: 8, max: 26 }),
      cout: fc.integer({ min: 8, max: 37 }),
      // Outputs of 49+ positions take Winograd; 4 tiles side by side inside the image take its vector path.
      h: fc.integer({ min: 8, max: 23 }),
      w: fc.integer({ min: 8, max: 27 }),
      // Up to 3: the transposed pass, a convolution padded 2 - p, then crops.
      pads: fc.tuple(fc.nat(3), fc.nat(3), fc.nat(3), fc.nat(3)),
      bias: fc.boolean(),
      relu: fc.boolean(),
      seed: fc.nat(),
    }),
    // Every weight transform, but not LRP-0: with 72+ terms per output, some output z lands within
    // 1e-3 of zero in most runs, where R / z turns float32 rounding of z (about 1e-6, direct or
    // Winograd alike) into relative errors above 1e-4. epsilon = 0.01 covers the same transform ('w').
    fc.constantFrom(...AFFINE_RULES.filter((r) => r !== 'lrp0')),
  ])('Conv2d 3x3 stride 1 (Winograd)', (p, spec) => {
    const ho = windowOut(p.h, 3, 1, p.pads[0], p.pads[2]);
    const wo = windowOut(p.w, 3, 1, p.pads[1], p.pads[3]);
    fc.pre(ho >= 1 && wo >= 1);
    const rng = new Random(p.seed);
    const nodes: GraphNode[] = [
      {
        op: 'Conv2d', name: 'conv', inputs: ['x'], inChannels: p.cin, outChannels: p.cout, kernel: [3, 3], stride: [1, 1],
        pads: p.pads as Pads, dilation: [1, 1], groups: 1,
        weight: rng.normals(p.cout * p.cin * 9, 0.3), bias: p.bias ? rng.normals(p.cout, 0.3) : null,
      },
    ];
    // A ReLU after the conv takes the engine's fused bias + ReLU epilogue.
    if (p.relu) nodes.push({ op: 'ReLU', name: 'relu', inputs: ['conv'] });
    const graph = new Graph({ name: 'x', shape: [p.cin, p.h, p.w] }, nodes);
    const x = random(p.seed + 1, p.batch * p.cin * p.h * p.w);
    const start = Float64Array.from(random(p.seed + 2, p.batch * p.cout * ho * wo));
    const rules = new Map<string, Rule>([['conv', createRule(spec)], ['relu', createRule('pass')]]);
    compare(graph, x, p.batch, rules, start, `winograd conv ${JSON.stringify(p)} ${JSON.stringify(spec)}`);
  });

  // A rule's divide runs inside its forward convolution and its product with x inside the transposed one
  // (assembly/epilogue.ts), here Winograd (3x3), pointwise (1x1) or sampled (1x1 at stride 2, whose
  // transpose scatters). The Add hands x relevance first (stride 1), or a second strided 1x1 does
  // (stride 2, as at the entry of a Keras ResNet stage), so the convolution's then adds to it (the
  // accumulating epilogue), as at a residual block's input. With a ReLU fused into the convolution,
  // epsilon's z is computed again, its divide (epsilon 0.01) fused.
  property.prop([
    fc.record({
      batch: fc.integer({ min: 1, max: 2 }),
      c: fc.integer({ min: 16, max: 21 }),
      h: fc.integer({ min: 10, max: 17 }),
      w: fc.integer({ min: 10, max: 17 }),
      kernel: fc.constantFrom('1x1', '3x3', '1x1/2'),
      bias: fc.boolean(),
      relu: fc.boolean(),
      seed: fc.nat(),
    }),
    // The rules that divide and multiply (others are covered above): epsilon twice as often.
    fc.constantFrom<RuleSpec>({ rule: 'epsilon', epsilon: 0.01 }, { rule: 'epsilon', epsilon: 0.25 }, 'zplus', { rule: 'gamma', gamma: 0.25 }),
  ])('Conv2d whose input already holds relevance', (p, spec) => {
    const rng = new Random(p.seed);
    const k = p.kernel === '3x3' ? 3 : 1, stride = p.kernel === '1x1/2' ? 2 : 1;
    const pad = (k - 1) / 2;
    const conv = (name: string): GraphNode => ({
      op: 'Conv2d', name, inputs: ['x'], inChannels: p.c, outChannels: p.c, kernel: [k, k], stride: [stride, stride],
      pads: [pad, pad, pad, pad], dilation: [1, 1], groups: 1,
      weight: rng.normals(p.c * p.c * k * k, 0.3), bias: p.bias ? rng.normals(p.c, 0.3) : null,
    });
    const graph = new Graph({ name: 'x', shape: [p.c, p.h, p.w] }, [
      conv('conv'),
      ...(p.relu ? [{ op: 'ReLU', name: 'relu', inputs: ['conv'] } as GraphNode] : []),
      ...(stride === 2 ? [conv('skip')] : []),
      { op: 'Add', name: 'add', inputs: [p.relu ? 'relu' : 'conv', stride === 2 ? 'skip' : 'x'] },
    ]);
    const n = p.batch * p.c * p.h * p.w;
    const nOut = p.batch * p.c * Math.ceil(p.h / stride) * Math.ceil(p.w / stride);
    const rules = new Map<string, Rule>([['conv', createRule(spec)], ['skip', createRule(spec)], ['relu', createRule('pass')], ['add', createRule('gradient')]]);
    compare(graph, random(p.seed + 1, n), p.batch, rules, Float64Array.from(random(p.seed + 2, nOut)), `conv into held relevance ${JSON.stringify(p)} ${JSON.stringify(spec)}`);
  });

  property.prop([fc.record({ batch: fc.integer({ min: 1, max: 3 }), nin: fc.integer({ min: 1, max: 45 }), nout: fc.integer({ min: 1, max: 21 }), bias: fc.boolean(), seed: fc.nat() }), fc.constantFrom(...AFFINE_RULES)])(
    'Linear',
    (p, spec) => {
      const rng = new Random(p.seed);
      const graph = new Graph({ name: 'x', shape: [p.nin, 1, 1] }, [
        { op: 'Flatten', name: 'flat', inputs: ['x'] },
        { op: 'Linear', name: 'fc', inputs: ['flat'], inFeatures: p.nin, outFeatures: p.nout, weight: rng.normals(p.nin * p.nout, 0.5), bias: p.bias ? rng.normals(p.nout, 0.3) : null },
      ]);
      const rules = new Map([['flat', createRule('pass')], ['fc', createRule(spec)]]);
      compare(graph, random(p.seed + 1, p.batch * p.nin), p.batch, rules, Float64Array.from(random(p.seed + 2, p.batch * p.nout)), `linear ${JSON.stringify(p)}`);
    },
  );

  const pool = fc.record({
    batch: fc.integer({ min: 1, max: 3 }),
    c: fc.integer({ min: 1, max: 4 }),
    h: fc.integer({ min: 1, max: 12 }),
    w: fc.integer({ min: 1, max: 12 }),
    k: fc.integer({ min: 1, max: 3 }),
    stride: fc.integer({ min: 1, max: 2 }),
    pad: fc.nat(2),
    countIncludePad: fc.boolean(),
    seed: fc.nat(),
  });

  property.prop([pool, fc.constantFrom('max', 'avg', 'gap'), fc.constantFrom('norm', 'gradient')])('pools', (p, kind, ruleName) => {
    const pad = Math.min(p.pad, p.k - 1);
    const ho = windowOut(p.h, p.k, p.stride, pad, pad);
    const wo = windowOut(p.w, p.k, p.stride, pad, pad);
    fc.pre(ho >= 1 && wo >= 1);
    const window = { kernel: [p.k, p.k] as [number, number], stride: [p.stride, p.stride] as [number, number], pads: [pad, pad, pad, pad] as Pads };
    const node: GraphNode =
      kind === 'max' ? { op: 'MaxPool2d', name: 'pool', inputs: ['x'], ...window }
      : kind === 'avg' ? { op: 'AvgPool2d', name: 'pool', inputs: ['x'], ...window, countIncludePad: p.countIncludePad }
      : { op: 'GlobalAvgPool', name: 'pool', inputs: ['x'] };
    const graph = single([p.c, p.h, p.w], node);
    const rule = createRule(kind === 'max' ? 'wta' : ruleName);
    const outN = p.batch * graph.shape('pool').reduce((a, b) => a * b, 1);
    compare(graph, random(p.seed, p.batch * p.c * p.h * p.w), p.batch, new Map([['pool', rule]]), Float64Array.from(random(p.seed + 1, outN)), `${kind} pool ${JSON.stringify(p)}`);
  });

  // Rows up to 29 wide: the four-at-a-time loop of stride 1 and 2, its border outputs and tails. Values
  // from {0, 1, 2}: most windows hold their maximum more than once, and the first in row-major window
  // order must win, as in the reference (a different winner routes relevance elsewhere: far off TOL).
  property.prop([fc.record({ c: fc.integer({ min: 1, max: 3 }), h: fc.integer({ min: 1, max: 9 }), w: fc.integer({ min: 1, max: 29 }), k: fc.integer({ min: 1, max: 4 }), stride: fc.integer({ min: 1, max: 3 }), pad: fc.nat(3), seed: fc.nat() })])('max-pool ties go to the first maximum', (p) => {
    const pad = Math.min(p.pad, p.k - 1);
    fc.pre(windowOut(p.h, p.k, p.stride, pad, pad) >= 1 && windowOut(p.w, p.k, p.stride, pad, pad) >= 1);
    const graph = single([p.c, p.h, p.w], { op: 'MaxPool2d', name: 'pool', inputs: ['x'], kernel: [p.k, p.k], stride: [p.stride, p.stride], pads: [pad, pad, pad, pad] });
    const x = random(p.seed, p.c * p.h * p.w, 0, 3).map(Math.floor);
    const outN = graph.shape('pool').reduce((a, b) => a * b, 1);
    compare(graph, x, 1, new Map([['pool', createRule('wta')]]), Float64Array.from(random(p.seed + 1, outN, 0.5, 1)), `max pool ties ${JSON.stringify(p)}`);
  });

  const map = fc.record({ batch: fc.integer({ min: 1, max: 3 }), c: fc.integer({ min: 1, max: 5 }), h: fc.integer({ min: 1, max: 9 }), w: fc.integer({ min: 1, max: 9 }), seed: fc.nat() });

  property.prop([map, fc.constantFrom<RuleSpec>('norm', { rule: 'norm', stabilizer: 0 }, 'gradient')])('Add of a branch and the input', (p, spec) => {
    // Inputs and BatchNorm shift keep both summands positive: where two summands cancel, x_i / (x_1 + x_2)
    // is ill-conditioned and float32 cannot match float64 whatever the kernel does.
    const n = p.c * p.h * p.w;
    const graph = new Graph({ name: 'x', shape: [p.c, p.h, p.w] }, [
      { op: 'BatchNorm', name: 'bn', inputs: ['x'], channels: p.c, gamma: random(p.seed, p.c, 0.5, 2), beta: random(p.seed + 1, p.c, 2, 3), mean: random(p.seed + 2, p.c), variance: random(p.seed + 3, p.c, 0.5, 2), epsilon: 1e-5 },
      { op: 'Add', name: 'add', inputs: ['bn', 'x'] },
    ]);
    const rules = new Map<string, Rule>([['add', createRule(spec)], ['bn', createRule('gradient')]]);
    compare(graph, random(p.seed + 4, p.batch * n, 0.1, 1), p.batch, rules, Float64Array.from(random(p.seed + 5, p.batch * n)), `add ${JSON.stringify(p)}`);
  });

  // The engine writes a ReLU that is a sum's only reader in the sum's place and keeps no sum: Norm's
  // split adds the summands again in its pass (two inputs), or reads their sum computed anew (three).
  property.prop([map, fc.constantFrom<RuleSpec>('norm', { rule: 'norm', stabilizer: 0 }, 'gradient'), fc.integer({ min: 2, max: 3 })])('a sum written with the ReLU after it', (p, spec, inputs) => {
    const n = p.c * p.h * p.w;
    const graph = new Graph({ name: 'x', shape: [p.c, p.h, p.w] }, [
      { op: 'BatchNorm', name: 'bn', inputs: ['x'], channels: p.c, gamma: random(p.seed, p.c, 0.5, 2), beta: random(p.seed + 1, p.c, -0.5, 0.5), mean: random(p.seed + 2, p.c), variance: random(p.seed + 3, p.c, 0.5, 2), epsilon: 1e-5 },
      { op: 'Add', name: 'add', inputs: ['bn', 'x', 'bn'].slice(0, inputs) },
      { op: 'ReLU', name: 'relu', inputs: ['add'] },
      { op: 'Conv2d', name: 'conv', inputs: ['relu'], inChannels: p.c, outChannels: 2, kernel: [1, 1], stride: [1, 1], pads: [0, 0, 0, 0], dilation: [1, 1], groups: 1, weight: random(p.seed + 6, 2 * p.c), bias: null },
    ]);
    const rules = new Map<string, Rule>([['add', createRule(spec)], ['relu', createRule('pass')], ['bn', createRule('gradient')], ['conv', createRule('zplus')]]);
    const x = random(p.seed + 4, p.batch * n, 0.1, 1);
    // The sum was written with its ReLU (so Norm did not read a kept value): its own value is not there.
    const session = engines[0].run(graph, x, p.batch);
    try {
      expect(() => session.activation('add')).toThrow(/not kept/);
    } finally {
      session.release();
    }
    compare(graph, x, p.batch, rules, Float64Array.from(random(p.seed + 5, p.batch * 2 * p.h * p.w)), `add-relu ${JSON.stringify(p)} ${inputs}`);
  });

  property.prop([map, fc.constantFrom<RuleSpec>('norm', { rule: 'norm', stabilizer: 0 }, 'gradient')])('Adds whose summand already holds relevance', (p, spec) => {
    // add3 reaches bn and add2 x before add1 splits its sum: the engine's one-pass split then adds to
    // what both of add1's inputs hold. bn's gradient adds to x last.
    const n = p.c * p.h * p.w;
    const graph = new Graph({ name: 'x', shape: [p.c, p.h, p.w] }, [
      { op: 'BatchNorm', name: 'bn', inputs: ['x'], channels: p.c, gamma: random(p.seed, p.c, 0.5, 2), beta: random(p.seed + 1, p.c, 2, 3), mean: random(p.seed + 2, p.c), variance: random(p.seed + 3, p.c, 0.5, 2), epsilon: 1e-5 },
      { op: 'Add', name: 'add1', inputs: ['bn', 'x'] },
      { op: 'Add', name: 'add2', inputs: ['add1', 'x'] },
      { op: 'Add', name: 'add3', inputs: ['add2', 'bn'] },
    ]);
    const rules = new Map<string, Rule>([['add1', createRule(spec)], ['add2', createRule(spec)], ['add3', createRule(spec)], ['bn', createRule('gradient')]]);
    compare(graph, random(p.seed + 4, p.batch * n, 0.1, 1), p.batch, rules, Float64Array.from(random(p.seed + 5, p.batch * n)), `adds ${JSON.stringify(p)}`);
  });

  property.prop([map, fc.constantFrom('ReLU', 'BatchNorm', 'Pad', 'Flatten'), fc.constantFrom('pass', 'gradient')])('ReLU, BatchNorm, Pad, Flatten', (p, op, ruleName) => {
    fc.pre(!(op === 'Pad' && ruleName === 'pass'));
    const node: GraphNode =
      op === 'ReLU' ? { op, name: 'n', inputs: ['x'] }
      : op === 'Flatten' ? { op, name: 'n', inputs: ['x'] }
      : op === 'Pad' ? { op, name: 'n', inputs: ['x'], pads: [1, 0, 2, 3] }
      : { op, name: 'n', inputs: ['x'], channels: p.c, gamma: random(p.seed, p.c, 0.5, 2), beta: random(p.seed + 1, p.c), mean: random(p.seed + 2, p.c), variance: random(p.seed + 3, p.c, 0.5, 2), epsilon: 1e-3 };
    const graph = single([p.c, p.h, p.w], node);
    const outN = p.batch * graph.shape('n').reduce((a, b) => a * b, 1);
    compare(graph, random(p.seed + 4, p.batch * p.c * p.h * p.w), p.batch, new Map([['n', createRule(ruleName)]]), Float64Array.from(random(p.seed + 5, outN)), `${op} ${JSON.stringify(p)}`);
  });
});

describe('whole models: wasm equals the reference under every composite', () => {
  const models = [
    ['resnet18', { inputSize: 32, width: 8 }],
    ['keras-resnet50', { inputSize: 32, width: 8 }],
    ['vgg11', { inputSize: 32, width: 8, hidden: 32 }],
  ] as const;
  for (const [arch, size] of models) {
    const model = buildModel(arch, { ...size, numClasses: 10, seed: 2 });
    const x = random(9, 2 * 3 * size.inputSize * size.inputSize);
    for (const c of COMPOSITES) {
      it(`${arch}, ${c.name}, batch 2`, async () => {
        const opts = { composite: c.name, batch: 2, target: [3, 7] };
        const r = await model.explain(x, { ...opts, backend: 'reference' });
        for (const kernels of ['relaxed-simd', 'simd'] as const) {
          const w = await model.explain(x, { ...opts, backend: 'wasm', kernels });
          expectWasmClose(w.logits, r.logits, `logits (${kernels})`);
          expectWasmClose(w.relevance.subarray(0, x.length / 2), r.relevance.subarray(0, x.length / 2), `relevance, image 0 (${kernels})`);
          expectWasmClose(w.relevance.subarray(x.length / 2), r.relevance.subarray(x.length / 2), `relevance, image 1 (${kernels})`);
        }
      });
    }
    it(`${arch}: gradient`, async () => {
      const [w, r] = await Promise.all([model.gradient(x, { batch: 2, backend: 'wasm' }), model.gradient(x, { batch: 2, backend: 'reference' })]);
      expect(w.targets).toEqual(r.targets);
      expectWasmClose(w.gradient, r.gradient, 'gradient');
    });
  }
});

describe('conservation on the wasm engine (zero biases, epsilon and stabilizer 1e-9)', () => {
  for (const arch of ['resnet18', 'keras-resnet50', 'vgg11'] as const) {
    const model = buildModel(arch, { inputSize: 32, width: 8, hidden: 32, numClasses: 10, seed: 4, zeroBias: true });
    const x = random(5, 3 * 32 * 32);
    for (const c of COMPOSITES) {
      it(`${arch}, ${c.name}`, async () => {
        const composite = { name: c.name, epsilon: 1e-9, stabilizer: 1e-9 };
        const e = await model.explain(x, { composite, layers: true });
        const start = c.initial === 'logit' ? e.logits[e.target] : 1;
        if (fragileNeurons(model, composite, x, 1e-5) === 0) {
          expect(Math.abs(sum(e.relevance) - start) / Math.abs(start)).toBeLessThanOrEqual(1e-4);
        } else {
          // z-plus / alpha-beta neurons without a positive (or negative) part lose relevance by
          // definition; the engines must still agree on how much.
          const r = await model.explain(x, { composite, backend: 'reference' });
          expect(Math.abs(sum(e.relevance) - sum(r.relevance)) / Math.abs(start)).toBeLessThanOrEqual(1e-4);
        }
        // The report's books balance on wasm too: absorptions add up to start minus the input's total.
        const absorbed = e.layers!.reduce((s, l) => s + l.relevanceOut[0] - l.relevanceIn[0], 0);
        expect(Math.abs(start - absorbed - sum(e.relevance)) / Math.abs(start)).toBeLessThanOrEqual(1e-4);
      });
    }
  }
});

describe('memory', () => {
  it('refuses a run that needs more than the memory limit, naming what and how much', async () => {
    const model = buildModel('vgg11', { inputSize: 64, width: 16, hidden: 64, numClasses: 10 });
    const x = new Float32Array(4 * 3 * 64 * 64).fill(0.5);
    await expect(model.explain(x, { batch: 4, memoryLimit: 4 * 1024 ** 2 })).rejects.toThrow(/needs wasm memory up to [\d.]+ MiB, over the limit of 4\.0 MiB \(raise it with the memoryLimit option/);
    // The same model still works with room to spare, and reuses its arena across calls.
    const e = await model.explain(x, { batch: 4 });
    expect(e.relevance.length).toBe(x.length);
  });

  it('keeps no Winograd U of a layer that makes its own past the call that made it', async () => {
    // Three 128-channel 3x3 convolutions at 7x7: Winograd layers that keep no U from upload (1 MiB each
    // made per call) on 25 KiB activations. After the forward, the arena holds activations and relevance
    // slots only; three leftover U would be 3 MiB.
    const conv = (name: string, input: string, seed: number): GraphNode => ({ op: 'Conv2d', name, inputs: [input], inChannels: 128, outChannels: 128, kernel: [3, 3], stride: [1, 1], pads: [1, 1, 1, 1], dilation: [1, 1], groups: 1, weight: random(seed, 128 * 128 * 9), bias: null });
    const graph = new Graph({ name: 'x', shape: [128, 7, 7] }, [
      conv('c1', 'x', 1), { op: 'ReLU', name: 'r1', inputs: ['c1'] },
      conv('c2', 'r1', 2), { op: 'ReLU', name: 'r2', inputs: ['c2'] },
      conv('c3', 'r2', 3), { op: 'GlobalAvgPool', name: 'gap', inputs: ['c3'] },
      { op: 'Flatten', name: 'flat', inputs: ['gap'] },
    ]);
    const engine = engines[0];
    const x = random(4, 128 * 49);
    engine.run(graph, x, 1).release(); // uploads the weights
    const before = engine.arena.mark();
    const session = engine.run(graph, x, 1);
    try {
      const held = engine.arena.mark() - before;
      expect(held).toBeGreaterThan(0);
      expect(held).toBeLessThan(512 * 1024);
    } finally {
      session.release();
    }
  });

  it('refuses more than wasm32 can address instead of wrapping around', async () => {
    const arena = (await WasmEngine.create(64 * 1024 ** 3)).arena;
    expect(() => arena.alloc(5 * 1024 ** 3, 'a test buffer')).toThrow(/a test buffer needs wasm memory up to 5120\.\d MiB, over the limit of 4095\.9 MiB \(the 4 GiB of wasm32/);
    // A model whose activations for 20 images pass 4 GiB: refused before computing, offsets past 2^31
    // handled as numbers rather than wrapped 32-bit integers.
    const graph = new Graph({ name: 'x', shape: [1, 1024, 1024] }, [
      { op: 'Conv2d', name: 'wide', inputs: ['x'], inChannels: 1, outChannels: 64, kernel: [1, 1], stride: [1, 1], pads: [0, 0, 0, 0], dilation: [1, 1], groups: 1, weight: new Float32Array(64).fill(0.1), bias: null },
      { op: 'GlobalAvgPool', name: 'gap', inputs: ['wide'] },
      { op: 'Flatten', name: 'flat', inputs: ['gap'] },
      { op: 'Linear', name: 'fc', inputs: ['flat'], inFeatures: 64, outFeatures: 2, weight: new Float32Array(128).fill(0.1), bias: null },
    ]);
    const model = new Model(graph);
    await expect(model.forward(new Float32Array(20 * 1024 * 1024), { batch: 20, memoryLimit: 64 * 1024 ** 3 })).rejects.toThrow(/needs wasm memory up to 5\d{3}\.\d MiB, over the limit of 4095\.9 MiB/);
  });
});
