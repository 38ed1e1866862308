/**
 * Which kernel runs a convolution's pass and how its threads share the work: decided here, once per
 * node and pass, as XNNPACK's operator setup picks its micro-kernels. The kernels (assembly/conv.ts,
 * winograd.ts, ones.ts, depthwise.ts) export one entry per algorithm and take the plan's layout, split
 * and chunk count from the geometry block as given.
 */
import { LAYOUT, SPLIT, TILING, TRANSFORM } from './constants.generated.js';

/** A convolution as one kernel call sees it (one group's call of a grouped layer). */
export interface ConvShape {
  readonly batch: number;
  readonly cin: number;
  readonly h: number;
  readonly w: number;
  readonly cout: number;
  readonly ho: number;
  readonly wo: number;
  readonly kh: number;
  readonly kw: number;
  readonly sh: number;
  readonly sw: number;
  readonly pt: number;
  readonly pl: number;
  readonly dh: number;
  readonly dw: number;
  /** One input channel a group: MobileNet's depthwise layers. */
  readonly depthwise: boolean;
}

export type ConvDirection = 'forward' | 'transpose';
export type ConvAlgorithm = 'gemm' | 'winograd' | 'ones' | 'depthwise';
export type Layout = keyof typeof LAYOUT;
export type Split = keyof typeof SPLIT;

export interface ConvPlan {
  readonly algorithm: ConvAlgorithm;
  /** The call's geometry: a transposed pass by Winograd runs a convolution of its own (transposedShape). */
  readonly shape: ConvShape;
  /** How a GEMM convolution (and the flat rule's one-channel one) reads its input. */
  readonly layout: Layout;
  /** Whether a rule's elementwise step (divide by z forward, multiply by x transposed) runs in the kernel's epilogue. */
  readonly fuses: boolean;
  /** Threads the pass runs on. */
  readonly parts: number;
  readonly split: Split;
  /** Chunks the blocks are cut into, claimed by the parts (split 'blocks'). */
  readonly chunks: number;
}

const { NR, NC } = TILING;

/**
 * Passes smaller than this run on one thread: the fork-join costs 2.4 us a job while the threads poll,
 * against tens of microseconds of work at 2^17 multiply-adds (a depthwise layer's 1-2 GMAC/s). At 2^20
 * MobileNetV2's depthwise layers ran on one thread, 25 of the 83 ms of a 2-thread explanation: 1.30x
 * -> 1.48-1.65x at 2^17.
 */
const MIN_THREADED_MACS = 2 ** 17;

/** Chunks a part aims at: enough that one running slower hands over a few, few enough to be cheap. */
const CHUNKS_PER_PART = 4;

export function planConv(shape: ConvShape, transform: number, direction: ConvDirection, threads: number): ConvPlan {
  const transposed = direction === 'transpose';
  const parts = partsFor(shape.batch * shape.cout * (shape.depthwise ? 1 : shape.cin) * shape.kh * shape.kw * shape.ho * shape.wo, threads);
  if (shape.depthwise) return { algorithm: 'depthwise', shape, layout: 'im2col', fuses: true, parts, split: 'channels', chunks: 1 };
  const layout = layoutOf(shape);
  if (transform === TRANSFORM.ones) {
    // One part: the layer's one-channel convolution is too small to share. The split is that call's.
    const split = !transposed || layout === 'pointwise' ? 'blocks' : 'channels';
    return { algorithm: 'ones', shape, layout, fuses: false, parts: 1, split, chunks: 1 };
  }
  const byWinograd = transposed ? winogradTransposes(shape) : winogradPays(shape);
  if (byWinograd) {
    const call = transposed ? transposedShape(shape) : shape;
    const panels = call.batch * Math.ceil((Math.ceil(call.ho / 2) * Math.ceil(call.wo / 2)) / 8);
    // Split by channels, every part transforms the whole input (128 channels at 28x28 ran 0.9-1.2x on
    // two threads, 1.5x split by tiles); split by tiles, every chunk reads all of U, which at 7x7 (two
    // panels) is most of the work. The transposed pass repacks all of U^T for every block, so it takes
    // the channels below 8 panels a part (256 channels at 14x14, 7 panels: 1.29 -> 1.63x on two
    // threads) and chunks of at least 4 panels.
    const byTiles = parts === 1 || panels >= (transposed ? 8 : 2) * parts;
    return { algorithm: 'winograd', shape: call, layout, fuses: true, parts, split: byTiles ? 'blocks' : 'channels', chunks: byTiles ? chunkCount(panels, parts, transposed ? 4 : 1) : 1 };
  }
  // Split by columns when every part gets a block's worth (the transposed pass only where each column
  // of dx is its own: col2im adds into overlapping windows, a sampled one's scatter skips positions),
  // else a fixed share of the channels, each part reading only its rows of the weights.
  const columns = shape.batch * shape.ho * shape.wo;
  const byColumns = (!transposed || layout === 'pointwise') && (parts === 1 || columns >= parts * NC);
  const panels = shape.batch * Math.ceil((shape.ho * shape.wo) / NR);
  // col2im adds into dx, so the rule's step runs after it.
  const fuses = !transposed || layout !== 'im2col';
  return { algorithm: 'gemm', shape, layout, fuses, parts, split: byColumns ? 'blocks' : 'channels', chunks: byColumns ? chunkCount(panels, parts, 1) : 1 };
}

/**
 * Whether a layer's U of its plain weights is kept from upload or made by each forward that needs it.
 * U holds 16/9 of the weights, and the layers under 100 outputs are the widest: kept, ResNet-50's three
 * at 7x7 would hold 50 MB, taking an explanation's peak memory past 2.5x its weights and activations,
 * to save about 1.6 ms a layer in the forward.
 */
export function keepsWinogradWeights(shape: ConvShape): boolean {
  return !shape.depthwise && winogradPays(shape) && shape.ho * shape.wo >= 100;
}

/**
 * Where Winograd pays: 3x3, stride 1, no dilation, enough channels that the GEMMs dominate the
 * transforms (the first layer of a VGG, with 3 input channels, stays on the direct GEMM), and at least
 * 49 output positions (16 tiles). At 7x7 (ResNet's last stage) a weight transform made in the call
 * costs about a fifth of the direct GEMM, and a z-plus node's two passes share one: ResNet-50's three
 * 512x512 layers there took 25.2 -> 23.8 ms in a forward, 78.4 -> 67.8 ms in an explanation
 * (bench/kernels.ts). Smaller outputs are not measured.
 */
function winogradPays(s: ConvShape): boolean {
  return s.kh === 3 && s.kw === 3 && s.sh === 1 && s.sw === 1 && s.dh === 1 && s.dw === 1 && s.cin >= 8 && s.cout >= 16 && s.ho * s.wo >= 49;
}

/** Whether a transposed pass runs by Winograd: as the convolution it is (transposedShape), where that pays. */
function winogradTransposes(s: ConvShape): boolean {
  return s.kh === 3 && s.kw === 3 && s.sh === 1 && s.sw === 1 && s.dh === 1 && s.dw === 1 && winogradPays(transposedShape(s));
}

/**
 * The transposed convolution of a 3x3 stride-1 layer is itself a 3x3 stride-1 convolution: of dy, with
 * the rotated kernel and swapped channels, padded 2 - p on each side (a negative pad crops), giving back
 * the layer's input size. The kernel reads the layer's own U for it (assembly/winograd.ts rotatedPlane).
 */
function transposedShape(s: ConvShape): ConvShape {
  return { ...s, cin: s.cout, cout: s.cin, h: s.ho, w: s.wo, ho: s.h, wo: s.w, pt: 2 - s.pt, pl: 2 - s.pl };
}

/**
 * The input as the GEMM reads it: 1x1 at stride 1 without padding is the input itself; a strided 1x1
 * without padding (bottom and right too: every output samples an input) is a pointwise one on every
 * sh-th row and sw-th column, gathered first; anything else is packed from im2col.
 */
function layoutOf(s: ConvShape): Layout {
  if (s.kh !== 1 || s.kw !== 1 || s.pt !== 0 || s.pl !== 0) return 'im2col';
  if (s.sh === 1 && s.sw === 1 && s.ho === s.h && s.wo === s.w) return 'pointwise';
  return (s.ho - 1) * s.sh < s.h && (s.wo - 1) * s.sw < s.w ? 'sampled' : 'im2col';
}

/** Threads a pass of `macs` multiply-adds runs on (a Linear's too). */
export function partsFor(macs: number, threads: number): number {
  return threads > 1 && macs >= MIN_THREADED_MACS ? threads : 1;
}

/**
 * How many chunks `items` panels are cut into for `parts` parts: one for one part (the blocks are then
 * those of a plain loop), else CHUNKS_PER_PART a part, fewer where a chunk would have fewer than `least`
 * items (where each chunk reads all the weights again); always a multiple of parts, so that threads of
 * one speed end together.
 */
function chunkCount(items: number, parts: number, least: number): number {
  if (parts === 1) return 1;
  return parts * Math.max(1, Math.min(CHUNKS_PER_PART, Math.floor(items / (parts * least))));
}
