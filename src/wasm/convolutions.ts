/**
 * The wasm engine's convolution service: how a Conv2d's or Linear's pass (forward, or transposed for
 * rules and gradients) becomes kernel calls: which calls a grouped layer splits into, each call's
 * geometry block, the plan each runs by (conv-plan.ts) and the Winograd U a call reads. The op modules
 * reach it through their context (WasmContext.affineForward, affineGradient, weightedMaps); the
 * lowering of rules (lowering.ts) through the Convolutions interface.
 */
import type { AffineNode } from '../graph/nodes.js';
import type { Conv2dNode } from '../ops/conv2d.js';
import { rowsOf } from '../ops/linear.js';
import type { Buf, Shapes } from '../ops/op.js';
import type { Transform } from '../rules/types.js';
import type { Arena } from './arena.js';
import { transformCode } from './codes.js';
import { keepsWinogradWeights, partsFor, planConv, type ConvDirection, type ConvPlan, type ConvShape } from './conv-plan.js';
import type { KernelExports } from './load.js';
import { NO_EPILOGUE, type Convolutions, type Epilogue } from './lowering.js';
import type { ConvolutionRun, Uploaded } from './convolution-run.js';
import { geometryBlock, NO_BIAS, type Code } from './geometry-block.js';
import { linearOnTokens, products } from './token-gemms.js';
import { elementwiseRun, type Elementwise } from './elementwise-run.js';

/**
 * One kernel call of a Conv2d node's pass: `batch` samples of `cin` channels into `cout`, at these byte
 * offsets from the node's input, weights, bias and output.
 */
interface ConvPart {
  batch: number;
  cin: number;
  cout: number;
  /** Which channel group (0 unless the layer is grouped and runs group by group). */
  group: number;
  x: number;
  w: number;
  b: number;
  y: number;
}

/** Depthwise layers (one input channel a group) run by a kernel of their own. */
const isDepthwise = (node: Conv2dNode) => node.groups > 1 && node.groups === node.inChannels;

/**
 * The kernel calls of a Conv2d node's pass. Plain and depthwise layers are one call. Other grouped
 * layers (ResNeXt's) run a plain convolution per sample and group on that group's channels, which are
 * contiguous within a sample but not across a batch; each such call is an ordinary convolution, so
 * Winograd, the flat rule's shortcut and the epilogues apply to it unchanged.
 */
function convParts(node: Conv2dNode, batch: number, [cin, h, w]: readonly number[], [cout, ho, wo]: readonly number[]): ConvPart[] {
  const G = node.groups;
  if (G === 1 || isDepthwise(node)) return [{ batch, cin, cout, group: 0, x: 0, w: 0, b: 0, y: 0 }];
  const cinG = cin / G, coutG = cout / G;
  const parts: ConvPart[] = [];
  for (let n = 0; n < batch; n++) {
    for (let g = 0; g < G; g++) {
      parts.push({ batch: 1, cin: cinG, cout: coutG, group: g, x: ((n * cin + g * cinG) * h * w) * 4, w: g * coutG * cinG * node.kernel[0] * node.kernel[1] * 4, b: g * coutG * 4, y: ((n * cout + g * coutG) * ho * wo) * 4 });
    }
  }
  return parts;
}

/** A call's convolution as the plan sees it: every call of a node's pass has the same. */
function callShape(graph: Shapes, node: Conv2dNode, part: ConvPart): ConvShape {
  const [, h, w] = graph.shape(node.inputs[0]);
  const [, ho, wo] = graph.shape(node.name);
  const [kh, kw] = node.kernel, [sh, sw] = node.stride, [pt, pl] = node.pads, [dh, dw] = node.dilation;
  return { batch: part.batch, cin: part.cin, h, w, cout: part.cout, ho, wo, kh, kw, sh, sw, pt, pl, dh, dw, depthwise: isDepthwise(node) };
}

/** The epilogue of one part: its operand is laid out as the part's output, at `offset` bytes. */
const shifted = (e: Epilogue, offset: number): Epilogue => (e.mode === NO_EPILOGUE.mode ? e : { ...e, operand: e.operand + offset });

/**
 * The Winograd U of a layer's plain weights (at `weight` in wasm memory), made once at upload where the
 * plan keeps one, else 0: the others make theirs in each pass (winogradU).
 */
export function packedWinograd(arena: Arena, k: KernelExports, graph: Shapes, node: AffineNode, weight: number): number {
  if (node.op !== 'Conv2d' || node.groups !== 1) return 0;
  if (!keepsWinogradWeights(callShape(graph, node, convParts(node, 1, graph.shape(node.inputs[0]), graph.shape(node.name))[0]))) return 0;
  const u = arena.alloc(k.winograd_weights_size(node.inChannels, node.outChannels) * 4, `the Winograd weights of "${node.name}"`);
  k.winograd_weights(weight, node.inChannels, node.outChannels, u);
  return u;
}

export class WasmConvolutions implements Convolutions {
  readonly k: KernelExports;
  readonly arena: Arena;
  readonly elementwise: Elementwise;
  /** Winograd U of a rule's weight transform, kept in the node's scratch for its other passes. */
  private readonly nodeU = new Map<string, number>();
  /** Each node's plan per pass and weight transform, made once. */
  private readonly plans = new Map<string, ConvPlan>();

  constructor(private readonly run: ConvolutionRun) {
    this.k = run.k;
    this.arena = run.arena;
    this.elementwise = elementwiseRun(run);
  }

  buffer(n: number, what: string): Buf {
    return { ptr: this.arena.alloc(n * 4, what), n };
  }

  /** Forgets the node's Winograd U (its scratch is being released). */
  endNode(): void {
    this.nodeU.clear();
  }

  /** out = t(W) x + t'(b) (then a ReLU clamped at `relu` unless null), through an epilogue where `fuses` says the node's pass applies one. */
  affine(node: AffineNode, x: Buf, out: Buf, w: Transform, b: Transform | null, relu: number | null = null, epilogue = NO_EPILOGUE): void {
    const { k, batch, arena } = this.run;
    const up = this.run.weights.get(node.name)!;
    const tw = transformCode(w);
    const tb = b === null || !node.bias ? NO_BIAS : transformCode(b);
    // A deferred input is computed first, so what its convolution keeps in the node's scratch (a
    // Winograd U) lies below this call's scratch, which is released after it.
    const xPtr = x.ptr;
    if (node.op === 'Linear') {
      const perSample = rowsOf(this.run.graph.shape(node.inputs[0]));
      const rows = batch * perSample;
      if (perSample > 1) return linearOnTokens(this.run, node, xPtr, out.ptr, rows, tw, tb, relu, 'forward');
      const parts = partsFor(rows * node.inFeatures * node.outFeatures, this.run.threads);
      this.run.parallel('linear_forward', [xPtr, up.weight, up.bias, out.ptr, rows, node.inFeatures, node.outFeatures, tw.code, tw.gamma, tb.code, tb.gamma, relu === null ? 0 : 1, relu ?? Infinity], parts);
      return;
    }
    const plan = this.plan(node, tw, 'forward');
    for (const part of this.parts(node)) {
      const geom = geometryBlock(arena, node.name, plan, tw, tb, relu, shifted(epilogue, part.y));
      const [xp, wp, bp, yp] = [xPtr + part.x, up.weight + part.w, tb.code >= 0 ? up.bias + part.b : 0, out.ptr + part.y];
      // A U made for this node stays (below the mark) for its other passes; the scratch goes after the call.
      const [u, ready] = this.winogradU(node, part, up, tw, plan);
      const mark = arena.mark();
      const scratch = (bytes: number) => arena.alloc(bytes * plan.parts, `the convolution scratch of "${node.name}"`);
      if (plan.algorithm === 'depthwise') this.run.parallel('depthwise_forward', [geom, xp, wp, bp, yp, scratch(k.depthwise_scratch(geom))], plan.parts);
      else if (plan.algorithm === 'ones') k.conv_ones_forward(geom, xp, bp, yp, scratch(k.conv_ones_scratch(geom)));
      else if (plan.algorithm === 'winograd') this.run.parallel('conv_winograd', [geom, xp, wp, bp, yp, scratch(k.winograd_scratch(geom)), u, ready, 0], plan.parts);
      else this.run.parallel('conv_gemm_forward', [geom, xp, wp, bp, yp, scratch(k.conv_gemm_scratch(geom))], plan.parts);
      arena.reset(mark);
    }
  }

  /** out = t(W)^T s, through an epilogue where `fuses` says so. */
  affineTranspose(node: AffineNode, s: Buf, out: Buf, w: Transform, epilogue = NO_EPILOGUE): void {
    const { k, batch, arena } = this.run;
    const up = this.run.weights.get(node.name)!;
    const tw = transformCode(w);
    // s is usually a deferred quotient, computed by the node's forward convolution: first, as in affine().
    const sPtr = s.ptr;
    if (node.op === 'Linear') {
      const perSample = rowsOf(this.run.graph.shape(node.inputs[0]));
      const rows = batch * perSample;
      if (perSample > 1) return linearOnTokens(this.run, node, sPtr, out.ptr, rows, tw, NO_BIAS, null, 'transpose');
      const parts = partsFor(rows * node.inFeatures * node.outFeatures, this.run.threads);
      this.run.parallel('linear_transpose', [sPtr, up.weight, out.ptr, rows, node.inFeatures, node.outFeatures, tw.code, tw.gamma], parts);
      return;
    }
    const plan = this.plan(node, tw, 'transpose');
    for (const part of this.parts(node)) {
      const geom = geometryBlock(arena, node.name, plan, tw, NO_BIAS, null, shifted(epilogue, part.x));
      const [sp, wp, dp] = [sPtr + part.y, up.weight + part.w, out.ptr + part.x];
      const [u, ready] = this.winogradU(node, part, up, tw, plan);
      const mark = arena.mark();
      const scratch = (bytes: number) => arena.alloc(bytes * plan.parts, `the convolution scratch of "${node.name}"`);
      if (plan.algorithm === 'depthwise') this.run.parallel('depthwise_transpose', [geom, sp, wp, dp, scratch(k.depthwise_scratch(geom))], plan.parts);
      else if (plan.algorithm === 'ones') k.conv_ones_transpose(geom, sp, dp, scratch(k.conv_ones_scratch(geom)));
      else if (plan.algorithm === 'winograd') this.run.parallel('conv_winograd', [geom, sp, wp, 0, dp, scratch(k.winograd_scratch(geom)), u, ready, 1], plan.parts);
      else this.run.parallel('conv_gemm_transpose', [geom, sp, wp, dp, scratch(k.conv_gemm_scratch(geom))], plan.parts);
      arena.reset(mark);
    }
  }

  /** out[t] = a[t] b[t], a transformer's heads' products (token-gemms.ts). */
  products(a: number, b: number, out: number, count: number, m: number, k: number, n: number, leftT = false, rightT = false): void {
    products(this.run, a, b, out, count, m, k, n, leftT, rightT);
  }

  /**
   * Whether the node's convolution (forward, or `transposed`) with this weight transform applies an
   * epilogue: then a rule's divide (forward) or product with x (transposed) runs inside it.
   */
  fuses(node: AffineNode, w: Transform, transposed: boolean): boolean {
    return node.op === 'Conv2d' && this.plan(node, transformCode(w), transposed ? 'transpose' : 'forward').fuses;
  }

  /** The node's plan for this pass and weight transform: the same for each call of a grouped layer. */
  private plan(node: Conv2dNode, tw: Code, direction: ConvDirection): ConvPlan {
    const key = `${node.name} ${direction} ${tw.code}`;
    let plan = this.plans.get(key);
    if (!plan) this.plans.set(key, (plan = planConv(callShape(this.run.graph, node, this.parts(node)[0]), tw.code, direction, this.run.threads)));
    return plan;
  }

  private parts(node: Conv2dNode): ConvPart[] {
    const { graph, batch } = this.run;
    return convParts(node, batch, graph.shape(node.inputs[0]), graph.shape(node.name));
  }

  /**
   * The U a Winograd pass reads, and whether it is filled: the stored one for the plain weights, else
   * the node's for this transform, taken from the node's scratch (above the call's own, so it outlives
   * the call) and filled by the first pass that needs it. A z-plus node then transforms w+ once for its
   * forward and transposed passes.
   */
  private winogradU(node: Conv2dNode, part: ConvPart, up: Uploaded, tw: Code, plan: ConvPlan): [number, number] {
    if (plan.algorithm !== 'winograd') return [0, 0];
    if (tw.code === 0 && up.winograd) return [up.winograd, 1];
    const key = `${node.name} ${part.group} ${tw.code} ${tw.gamma}`;
    const kept = this.nodeU.get(key);
    if (kept !== undefined) return [kept, 1];
    const u = this.arena.alloc(this.k.winograd_weights_size(part.cin, part.cout) * 4, `the Winograd weights of "${node.name}"`);
    this.nodeU.set(key, u);
    if (plan.parts === 1) return [u, 0];
    // The parts of a threaded pass all read U: it is made first, by the same transform the pass would use.
    this.run.parallel('winograd_weights_transformed', [up.weight + part.w, part.cin, part.cout, tw.code, tw.gamma, u], plan.parts);
    return [u, 1];
  }
}
