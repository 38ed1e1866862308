/**
 * The wasm engine's convolution service: how a Conv2d's or Linear's pass (forward, or transposed for
 * rules and gradients) becomes kernel calls: which calls a grouped layer splits into, each call's
 * geometry block, how many threads a call is worth, and the Winograd U a call reads. The op modules
 * reach it through their context (WasmContext.affineForward, affineGradient, weightedMaps); the
 * lowering of rules (lowering.ts) through the Convolutions interface.
 */
import type { Graph } from '../graph/graph.js';
import type { AffineNode } from '../graph/nodes.js';
import type { Conv2dNode } from '../ops/conv2d.js';
import type { Buf } from '../ops/op.js';
import type { Transform } from '../rules/types.js';
import type { Arena } from './arena.js';
import { GEOM, GEOM_BYTES, transformCode } from './codes.js';
import type { KernelExports } from './load.js';
import { NO_EPILOGUE, type Convolutions, type Epilogue } from './lowering.js';
import type { ThreadedKernel } from './threads.js';

/** A Conv2d's or Linear's weights in wasm memory: addresses, 0 where there is none. */
export interface Uploaded {
  weight: number;
  bias: number;
  /**
   * Winograd's U = G g G^T of the plain weights, packed for the forward GEMMs, for the 3x3 stride-1
   * convolutions that use it; or 0. Transposed passes read it too. Rules' transforms get theirs per node.
   */
  winograd: number;
}

/** Passes smaller than this run on one thread (see WasmConvolutions.partsFor). */
const MIN_THREADED_MACS = 2 ** 17;

type Code = { code: number; gamma: number };
const PLAIN: Code = { code: 0, gamma: 0 };
const NO_BIAS: Code = { code: -1, gamma: 0 };

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

/**
 * A convolution's geometry, transforms, ReLU flag and epilogue (assembly/geometry.ts), in a block of its
 * own from the arena: every call gets its copy, so a convolution run while another's arguments are
 * prepared (a deferred input being computed) cannot change what the other reads.
 */
function geometryBlock(arena: Arena, graph: Graph, part: ConvPart, node: Conv2dNode, tw: Code, tb: Code, relu: boolean, epilogue = NO_EPILOGUE): number {
  const geom = arena.alloc(GEOM_BYTES, `the geometry of "${node.name}"`);
  const [, h, w] = graph.shape(node.inputs[0]);
  const [, ho, wo] = graph.shape(node.name);
  const g = arena.i32(geom, GEOM_BYTES / 4);
  const f = arena.f32(geom, GEOM_BYTES / 4);
  g[GEOM.batch] = part.batch;
  g[GEOM.cin] = part.cin;
  g[GEOM.h] = h;
  g[GEOM.w] = w;
  g[GEOM.cout] = part.cout;
  g[GEOM.ho] = ho;
  g[GEOM.wo] = wo;
  [g[GEOM.kh], g[GEOM.kw]] = node.kernel;
  [g[GEOM.sh], g[GEOM.sw]] = node.stride;
  [g[GEOM.pt], g[GEOM.pl]] = node.pads;
  [g[GEOM.dh], g[GEOM.dw]] = node.dilation;
  g[GEOM.tW] = tw.code;
  g[GEOM.tB] = tb.code;
  g[GEOM.relu] = relu ? 1 : 0;
  f[GEOM.gammaW] = tw.gamma;
  f[GEOM.gammaB] = tb.gamma;
  g[GEOM.epilogue] = epilogue.mode;
  g[GEOM.epilogueOperand] = epilogue.operand;
  f[GEOM.epilogueEps] = epilogue.eps;
  return geom;
}

/** The epilogue of one part: its operand is laid out as the part's output, at `offset` bytes. */
const shifted = (e: Epilogue, offset: number): Epilogue => (e.mode === NO_EPILOGUE.mode ? e : { ...e, operand: e.operand + offset });

/**
 * The Winograd U of a layer's plain weights (at `weight` in wasm memory), made once at upload where the
 * kernels keep one for this convolution, else 0: the others make theirs in each pass (winogradU).
 */
export function packedWinograd(arena: Arena, k: KernelExports, graph: Graph, node: AffineNode, weight: number): number {
  if (node.op !== 'Conv2d' || node.groups !== 1) return 0;
  const mark = arena.mark();
  const keeps = k.conv2d_keeps_winograd(geometryBlock(arena, graph, convParts(node, 1, graph.shape(node.inputs[0]), graph.shape(node.name))[0], node, PLAIN, NO_BIAS, false));
  arena.reset(mark);
  if (!keeps) return 0;
  const u = arena.alloc(k.winograd_weights_size(node.inChannels, node.outChannels) * 4, `the Winograd weights of "${node.name}"`);
  k.winograd_weights(weight, node.inChannels, node.outChannels, u);
  return u;
}

/** What the service needs of a run. */
export interface ConvolutionRun {
  readonly graph: Graph;
  readonly batch: number;
  /** Threads this run's large passes are split across. */
  readonly threads: number;
  readonly k: KernelExports;
  readonly arena: Arena;
  readonly weights: Map<string, Uploaded>;
  /** Runs a kernel in `parts` shares on the engine's threads. */
  parallel(kernel: ThreadedKernel, args: number[], parts: number): void;
}

export class WasmConvolutions implements Convolutions {
  readonly k: KernelExports;
  readonly arena: Arena;
  /** Winograd U of a rule's weight transform, kept in the node's scratch for its other passes. */
  private readonly nodeU = new Map<string, number>();

  constructor(private readonly run: ConvolutionRun) {
    this.k = run.k;
    this.arena = run.arena;
  }

  buffer(n: number, what: string): Buf {
    return { ptr: this.arena.alloc(n * 4, what), n };
  }

  /** Forgets the node's Winograd U (its scratch is being released). */
  endNode(): void {
    this.nodeU.clear();
  }

  /** out = t(W) x + t'(b) (ReLU), through an epilogue where `fuses` says the node's pass applies one. */
  affine(node: AffineNode, x: Buf, out: Buf, w: Transform, b: Transform | null, relu = false, epilogue = NO_EPILOGUE): void {
    const { k, batch, arena } = this.run;
    const up = this.run.weights.get(node.name)!;
    const tw = transformCode(w);
    const tb = b === null || !node.bias ? NO_BIAS : transformCode(b);
    // A deferred input is computed first, so what its convolution keeps in the node's scratch (a
    // Winograd U) lies below this call's scratch, which is released after it.
    const xPtr = x.ptr;
    if (node.op === 'Linear') {
      const parts = this.partsFor(batch * node.inFeatures * node.outFeatures);
      this.run.parallel('linear_forward', [xPtr, up.weight, up.bias, out.ptr, batch, node.inFeatures, node.outFeatures, tw.code, tw.gamma, tb.code, tb.gamma, relu ? 1 : 0], parts);
      return;
    }
    for (const part of this.parts(node)) {
      const geom = geometryBlock(arena, this.run.graph, part, node, tw, tb, relu, shifted(epilogue, part.y));
      const bias = tb.code >= 0 ? up.bias + part.b : 0;
      const parts = this.partsFor(this.macs(node, part));
      // A U made for this node stays (below the mark) for its other passes; the scratch goes after the call.
      const [u, ready] = isDepthwise(node) ? [0, 0] : this.winogradU(node, part, up, tw, geom, false, parts);
      const mark = arena.mark();
      if (isDepthwise(node)) {
        const scratch = arena.alloc(k.depthwise_scratch(geom) * parts, `the convolution scratch of "${node.name}"`);
        this.run.parallel('depthwise_forward', [geom, xPtr, up.weight, bias, out.ptr, scratch], parts);
      } else {
        const scratch = arena.alloc(k.conv2d_scratch(geom) * parts, `the convolution scratch of "${node.name}"`);
        this.run.parallel('conv2d_forward', [geom, xPtr + part.x, up.weight + part.w, bias, out.ptr + part.y, scratch, u, ready], parts);
      }
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
      const parts = this.partsFor(batch * node.inFeatures * node.outFeatures);
      this.run.parallel('linear_transpose', [sPtr, up.weight, out.ptr, batch, node.inFeatures, node.outFeatures, tw.code, tw.gamma], parts);
      return;
    }
    for (const part of this.parts(node)) {
      const geom = geometryBlock(arena, this.run.graph, part, node, tw, NO_BIAS, false, shifted(epilogue, part.x));
      const parts = this.partsFor(this.macs(node, part));
      const [u, ready] = isDepthwise(node) ? [0, 0] : this.winogradU(node, part, up, tw, geom, true, parts);
      const mark = arena.mark();
      if (isDepthwise(node)) {
        const scratch = arena.alloc(k.depthwise_scratch(geom) * parts, `the convolution scratch of "${node.name}"`);
        this.run.parallel('depthwise_transpose', [geom, sPtr, up.weight, out.ptr, scratch], parts);
      } else {
        const scratch = arena.alloc(k.conv2d_scratch(geom) * parts, `the convolution scratch of "${node.name}"`);
        this.run.parallel('conv2d_transpose', [geom, sPtr + part.y, up.weight + part.w, out.ptr + part.x, scratch, u, ready], parts);
      }
      arena.reset(mark);
    }
  }

  /**
   * Whether the node's convolution (forward, or `transposed`) with this weight transform applies an
   * epilogue: then a rule's divide (forward) or product with x (transposed) runs inside it.
   */
  fuses(node: AffineNode, w: Transform, transposed: boolean): boolean {
    if (node.op !== 'Conv2d') return false;
    if (isDepthwise(node)) return true;
    const mark = this.arena.mark();
    const fuses = this.k.conv2d_fuses(geometryBlock(this.arena, this.run.graph, this.parts(node)[0], node, transformCode(w), NO_BIAS, false), transposed ? 1 : 0) !== 0;
    this.arena.reset(mark);
    return fuses;
  }

  /** Multiply-adds of one part of a convolution's pass (either direction: the same). */
  private macs(node: Conv2dNode, part: ConvPart): number {
    const [, ho, wo] = this.run.graph.shape(node.name);
    return part.batch * part.cout * (isDepthwise(node) ? 1 : part.cin) * node.kernel[0] * node.kernel[1] * ho * wo;
  }

  /**
   * How many parts a pass of `macs` multiply-adds runs in: all the run's threads, unless it is too
   * small to repay the fork-join (2.4 us a job while the threads poll, against tens of microseconds of
   * work at 2^17 multiply-adds, a depthwise layer's 1-2 GMAC/s). At 2^20 MobileNetV2's depthwise
   * layers ran on one thread, 25 of the 83 ms of a 2-thread explanation: 1.30x -> 1.48-1.65x at 2^17.
   */
  private partsFor(macs: number): number {
    return this.run.threads > 1 && macs >= MIN_THREADED_MACS ? this.run.threads : 1;
  }

  private parts(node: Conv2dNode): ConvPart[] {
    const { graph, batch } = this.run;
    return convParts(node, batch, graph.shape(node.inputs[0]), graph.shape(node.name));
  }

  /**
   * The U a Winograd pass of this geometry reads, and whether it is filled: the stored
   * one for the plain weights, else the node's for this transform, taken from the node's scratch (above
   * the call's own, so it outlives the call) and filled by the first pass that needs it. A z-plus node
   * then transforms w+ once for its forward and transposed passes.
   */
  private winogradU(node: Conv2dNode, part: ConvPart, up: Uploaded, tw: Code, geom: number, transposed: boolean, parts: number): [number, number] {
    if (!this.k.conv2d_uses_winograd(geom, transposed ? 1 : 0)) return [0, 0];
    if (tw.code === 0 && up.winograd) return [up.winograd, 1];
    const key = `${node.name} ${part.group} ${tw.code} ${tw.gamma}`;
    const kept = this.nodeU.get(key);
    if (kept !== undefined) return [kept, 1];
    const u = this.arena.alloc(this.k.winograd_weights_size(part.cin, part.cout) * 4, `the Winograd weights of "${node.name}"`);
    this.nodeU.set(key, u);
    if (parts === 1) return [u, 0];
    // The parts of a threaded pass all read U: it is made first, by the same transform the pass would use.
    this.run.parallel('winograd_weights_transformed', [up.weight + part.w, part.cin, part.cout, tw.code, tw.gamma, u], parts);
    return [u, 1];
  }
}
