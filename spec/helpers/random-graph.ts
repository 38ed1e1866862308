import fc from 'fast-check';
import { GraphBuilder, type Activation } from '../../src/architectures/layers.js';
import { Graph } from '../../src/graph/graph.js';
import { Model } from '../../src/model/model.js';
import { Random } from '../../src/architectures/random.js';
import { windowOut } from '../../src/graph/shapes.js';

/** A recipe for a small random classifier; weights come from `seed`. */
export interface Recipe {
  seed: number;
  channels: number;
  height: number;
  width: number;
  blocks: Block[];
  head: 'gap' | 'flatten';
  hidden: number | null;
  classes: number;
}

export type Block =
  | { kind: 'conv'; cout: number; k: number; stride: number; pad: number; bn: boolean; relu: boolean }
  | { kind: 'residual'; k: number; stride: number; cout: number; bottleneck: boolean }
  | { kind: 'maxpool'; k: number; stride: number; pad: number }
  | { kind: 'avgpool'; k: number; stride: number; pad: number; countIncludePad: boolean }
  // The blocks of issue 14 (recipeArb({ newOps: true })):
  /** MobileNetV2/V3 and EfficientNet's inverted residual: 1x1 expand, depthwise k x k, optional SE gate, 1x1 project. */
  | { kind: 'inverted'; expand: number; k: number; stride: number; cout: number; act: Activation; se: Activation | null }
  /** A 1x1 conv to groups * width channels, then a grouped 3x3 conv (ResNeXt). */
  | { kind: 'grouped'; groups: number; width: number; stride: number }
  /** A depthwise conv with a depth multiplier (Keras DepthwiseConv2D). */
  | { kind: 'depthwise'; mult: number; k: number; stride: number; pad: number }
  /** DenseNet's layer: standalone BN -> ReLU -> 1x1 conv -> BN -> ReLU -> 3x3 conv, concatenated to its input. */
  | { kind: 'dense'; growth: number };

const k = fc.constantFrom(1, 3, 5, 7);
const conv = fc.record({ kind: fc.constant('conv' as const), cout: fc.integer({ min: 1, max: 6 }), k, stride: fc.integer({ min: 1, max: 2 }), pad: fc.integer({ min: 0, max: 3 }), bn: fc.boolean(), relu: fc.boolean() });
const residual = fc.record({ kind: fc.constant('residual' as const), k: fc.constantFrom(1, 3), stride: fc.integer({ min: 1, max: 2 }), cout: fc.integer({ min: 2, max: 6 }), bottleneck: fc.boolean() });
const pool = (kind: 'maxpool' | 'avgpool') =>
  fc.record({ kind: fc.constant(kind), k: fc.integer({ min: 2, max: 3 }), stride: fc.integer({ min: 1, max: 2 }), pad: fc.integer({ min: 0, max: 1 }), countIncludePad: fc.boolean() });

const activation = (piecewiseLinear: boolean) => fc.constantFrom<Activation>(...(piecewiseLinear ? (['relu', 'relu6'] as const) : (['relu', 'relu6', 'hardswish', 'silu'] as const)));
const newBlocks = (piecewiseLinear: boolean): fc.Arbitrary<Block>[] => [
  fc.record({
    kind: fc.constant('inverted' as const), expand: fc.integer({ min: 1, max: 3 }), k: fc.constantFrom(3, 5), stride: fc.integer({ min: 1, max: 2 }),
    cout: fc.integer({ min: 2, max: 6 }), act: activation(piecewiseLinear), se: piecewiseLinear ? fc.constant(null) : fc.option(fc.constantFrom<Activation>('sigmoid', 'hardsigmoid'), { nil: null }),
  }),
  fc.record({ kind: fc.constant('grouped' as const), groups: fc.integer({ min: 2, max: 4 }), width: fc.integer({ min: 1, max: 3 }), stride: fc.integer({ min: 1, max: 2 }) }),
  fc.record({ kind: fc.constant('depthwise' as const), mult: fc.integer({ min: 1, max: 3 }), k: fc.constantFrom(1, 3, 5), stride: fc.integer({ min: 1, max: 2 }), pad: fc.integer({ min: 0, max: 2 }) }),
  fc.record({ kind: fc.constant('dense' as const), growth: fc.integer({ min: 1, max: 3 }) }),
];

export interface RecipeOptions {
  /** Also the blocks of issue 14; `piecewiseLinear` keeps their activations to ReLU and ReLU6, without gates. */
  newOps?: boolean | 'piecewiseLinear';
  residual?: boolean;
  /** Every conv followed by ReLU. */
  reluAfterConv?: boolean;
}

export function recipeArb(options: RecipeOptions = {}): fc.Arbitrary<Recipe> {
  const blocks = [conv, pool('maxpool'), pool('avgpool'), ...(options.residual === false ? [] : [residual])] as fc.Arbitrary<Block>[];
  if (options.newOps) blocks.push(...newBlocks(options.newOps === 'piecewiseLinear'));
  return fc.record({
    seed: fc.integer({ min: 0, max: 2 ** 30 }),
    channels: fc.integer({ min: 1, max: 3 }),
    height: fc.integer({ min: 4, max: 11 }),
    width: fc.integer({ min: 4, max: 11 }),
    blocks: fc.array(fc.oneof(...blocks), { minLength: 1, maxLength: 4 }),
    head: fc.constantFrom('gap' as const, 'flatten' as const),
    hidden: fc.option(fc.integer({ min: 2, max: 6 }), { nil: null }),
    classes: fc.integer({ min: 2, max: 5 }),
  }).map((r) => (options.reluAfterConv ? { ...r, blocks: r.blocks.map((b) => (b.kind === 'conv' ? { ...b, relu: true } : b)) } : r));
}

/**
 * Builds the recipe, skipping any block whose window would not fit the feature map. The stem is always a
 * conv, so every graph has a first conv for the composites' special first rules.
 */
export function buildRecipe(r: Recipe, options: { zeroBias?: boolean } = {}): Model {
  const b = new GraphBuilder(new Random(r.seed), options);
  let x = 'input';
  let c = r.channels;
  let h = r.height;
  let w = r.width;
  let n = 0;
  const fits = (kk: number, s: number, p: number) => windowOut(h, kk, s, p, p) >= 1 && windowOut(w, kk, s, p, p) >= 1;
  const convBlock = (cout: number, kk: number, s: number, p: number, bn: boolean, relu: boolean) => {
    x = b.conv(`conv${n}`, x, c, cout, kk, { stride: s, pad: p, bias: true });
    if (bn) x = b.batchNorm(`bn${n}`, x, cout);
    if (relu) x = b.relu(`relu${n}`, x);
    [c, h, w] = [cout, windowOut(h, kk, s, p, p), windowOut(w, kk, s, p, p)];
    n++;
  };
  convBlock(4, 3, 1, 1, true, true);
  for (const blk of r.blocks) {
    if (blk.kind === 'conv') {
      const p = Math.min(blk.pad, blk.k - 1);
      if (fits(blk.k, blk.stride, p)) convBlock(blk.cout, blk.k, blk.stride, p, blk.bn, blk.relu);
    } else if (blk.kind === 'maxpool' || blk.kind === 'avgpool') {
      const p = Math.min(blk.pad, blk.k - 1);
      if (!fits(blk.k, blk.stride, p)) continue;
      x = blk.kind === 'maxpool' ? b.maxPool(`pool${n}`, x, blk.k, blk.stride, p) : b.avgPool(`pool${n}`, x, blk.k, blk.stride, p, blk.countIncludePad);
      [h, w] = [windowOut(h, blk.k, blk.stride, p, p), windowOut(w, blk.k, blk.stride, p, p)];
      n++;
    } else if (blk.kind === 'inverted') {
      const p = (blk.k - 1) / 2;
      if (!fits(blk.k, blk.stride, p)) continue;
      const id = n++;
      const input = x;
      const hidden = c * blk.expand;
      let y = input;
      if (blk.expand !== 1) y = b.activation(`inv${id}.expand.act`, b.batchNorm(`inv${id}.expand.bn`, b.conv(`inv${id}.expand`, y, c, hidden, 1), hidden), blk.act);
      y = b.activation(`inv${id}.dw.act`, b.batchNorm(`inv${id}.dw.bn`, b.conv(`inv${id}.dw`, y, hidden, hidden, blk.k, { stride: blk.stride, pad: p, groups: hidden }), hidden), blk.act);
      if (blk.se) {
        const squeeze = Math.max(1, Math.floor(hidden / 2));
        const s1 = b.relu(`inv${id}.se.relu`, b.conv(`inv${id}.se.fc1`, b.globalAvgPool(`inv${id}.se.pool`, y), hidden, squeeze, 1, { bias: true }));
        y = b.gate(`inv${id}.se`, y, b.activation(`inv${id}.se.gate`, b.conv(`inv${id}.se.fc2`, s1, squeeze, hidden, 1, { bias: true }), blk.se));
      }
      y = b.batchNorm(`inv${id}.project.bn`, b.conv(`inv${id}.project`, y, hidden, blk.cout, 1), blk.cout);
      x = blk.stride === 1 && blk.cout === c ? b.sum(`inv${id}.add`, y, input) : y;
      [c, h, w] = [blk.cout, windowOut(h, blk.k, blk.stride, p, p), windowOut(w, blk.k, blk.stride, p, p)];
    } else if (blk.kind === 'grouped') {
      if (!fits(3, blk.stride, 1)) continue;
      const id = n++;
      const mid = blk.groups * blk.width;
      const y = b.relu(`grp${id}.relu1`, b.batchNorm(`grp${id}.bn1`, b.conv(`grp${id}.conv1`, x, c, mid, 1), mid));
      x = b.relu(`grp${id}.relu2`, b.batchNorm(`grp${id}.bn2`, b.conv(`grp${id}.conv2`, y, mid, mid, 3, { stride: blk.stride, pad: 1, groups: blk.groups }), mid));
      [c, h, w] = [mid, windowOut(h, 3, blk.stride, 1, 1), windowOut(w, 3, blk.stride, 1, 1)];
    } else if (blk.kind === 'depthwise') {
      const p = Math.min(blk.pad, blk.k - 1);
      if (!fits(blk.k, blk.stride, p)) continue;
      const id = n++;
      x = b.conv(`dw${id}`, x, c, c * blk.mult, blk.k, { stride: blk.stride, pad: p, groups: c, bias: true });
      [c, h, w] = [c * blk.mult, windowOut(h, blk.k, blk.stride, p, p), windowOut(w, blk.k, blk.stride, p, p)];
    } else if (blk.kind === 'dense') {
      const id = n++;
      const mid = 2 * blk.growth;
      let y = b.conv(`dense${id}.conv1`, b.relu(`dense${id}.relu1`, b.batchNorm(`dense${id}.norm1`, x, c)), c, mid, 1);
      y = b.conv(`dense${id}.conv2`, b.relu(`dense${id}.relu2`, b.batchNorm(`dense${id}.norm2`, y, mid)), mid, blk.growth, 3, { pad: 1 });
      x = b.concat(`dense${id}.cat`, [x, y]);
      c += blk.growth;
    } else {
      const p = (blk.k - 1) / 2;
      if (!fits(blk.k, blk.stride, p)) continue;
      const id = n++;
      const input = x;
      const mid = blk.bottleneck ? Math.max(1, blk.cout - 1) : blk.cout;
      let y = b.relu(`res${id}.relu1`, b.batchNorm(`res${id}.bn1`, b.conv(`res${id}.conv1`, input, c, mid, blk.k, { stride: blk.stride, pad: p }), mid));
      y = b.batchNorm(`res${id}.bn2`, b.conv(`res${id}.conv2`, y, mid, blk.cout, blk.k, { pad: p }), blk.cout);
      const shortcut = blk.stride !== 1 || blk.cout !== c ? b.batchNorm(`res${id}.down.bn`, b.conv(`res${id}.down`, input, c, blk.cout, 1, { stride: blk.stride }), blk.cout) : input;
      x = b.relu(`res${id}.relu`, b.sum(`res${id}.add`, y, shortcut));
      [c, h, w] = [blk.cout, windowOut(h, blk.k, blk.stride, p, p), windowOut(w, blk.k, blk.stride, p, p)];
    }
  }
  x = r.head === 'gap' ? b.flatten('flatten', b.globalAvgPool('gap', x)) : b.flatten('flatten', x);
  let features = r.head === 'gap' ? c : c * h * w;
  if (r.hidden !== null) {
    x = b.relu('fc0.relu', b.linear('fc0', x, features, r.hidden));
    features = r.hidden;
  }
  b.linear('fc', x, features, r.classes);
  return new Model(new Graph({ name: 'input', shape: [r.channels, r.height, r.width] }, b.nodes));
}

export function randomInput(model: Model, seed: number, batch = 1, lo = -1, hi = 1): Float32Array {
  const rng = new Random(seed);
  const n = batch * model.inputShape.reduce((a, b) => a * b, 1);
  return rng.uniforms(n, lo, hi);
}
