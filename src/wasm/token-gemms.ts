/**
 * A transformer's matrix products on the convolutions' GEMM kernels: a Linear on each token, and the
 * heads' products of two values (Q K^T, A V), each as the 1x1 convolution over one row of positions it is.
 */
import type { AffineNode } from '../graph/nodes.js';
import { planConv, type ConvDirection, type ConvShape } from './conv-plan.js';
import type { ConvolutionRun } from './convolution-run.js';
import { geometryBlock, NO_BIAS, PLAIN, type Code } from './geometry-block.js';

/** A 1x1 convolution of `cin` channels into `cout` over one row of `positions`. */
const rowShape = (cin: number, positions: number, cout: number): ConvShape => ({ batch: 1, cin, h: 1, w: positions, cout, ho: 1, wo: positions, kh: 1, kw: 1, sh: 1, sw: 1, pt: 0, pl: 0, dh: 1, dw: 1, depthwise: false });

/**
 * A Linear on each of `rows` rows (a transformer's tokens) as the 1x1 convolution it is, on the GEMM
 * kernels of convolutions: the rows transposed to a map of one row of `rows` positions, convolved (or
 * transposed), transposed back. The Linear kernel reads its weights once a row and its input once an
 * output, a matrix-vector design for a classifier's head: ViT-B/16's forward took 7.2 s with it, 3.7 s
 * this way (bench/vit.ts, one thread). No epilogue reaches a Linear (fuses() is Conv2d's only).
 */
export function linearOnTokens(run: ConvolutionRun, node: AffineNode & { op: 'Linear' }, src: number, dst: number, rows: number, tw: Code, tb: Code, relu: number | null, direction: ConvDirection): void {
  const { k, arena } = run;
  const up = run.weights.get(node.name)!;
  const [nin, nout] = [node.inFeatures, node.outFeatures];
  const [from, to] = direction === 'forward' ? [nin, nout] : [nout, nin];
  const plan = planConv(rowShape(nin, rows, nout), tw.code, direction, run.threads);
  const mark = arena.mark();
  const [a, b] = [arena.alloc(rows * from * 4, `the rows of "${node.name}" transposed`), arena.alloc(rows * to * 4, `the output of "${node.name}" transposed`)];
  k.transpose(src, a, rows, from);
  const geom = geometryBlock(arena, node.name, plan, tw, tb, relu);
  const scratch = arena.alloc(k.conv_gemm_scratch(geom) * plan.parts, `the convolution scratch of "${node.name}"`);
  if (direction === 'forward') run.parallel('conv_gemm_forward', [geom, a, up.weight, tb.code >= 0 ? up.bias : 0, b, scratch], plan.parts);
  else run.parallel('conv_gemm_transpose', [geom, a, up.weight, b, scratch], plan.parts);
  k.transpose(b, dst, to, rows);
  arena.reset(mark);
}

/**
 * out[t] = a[t] b[t] (m x k by k x n; `leftT`, `rightT`: a factor given as its transpose), each product
 * the 1x1 convolution of a^T (k channels at m positions) by b^T as weights (n outputs of k), on the
 * GEMM kernels, its n x m result transposed into place: a transformer's Q K^T and A V, a head at a time.
 */
export function products(run: ConvolutionRun, a: number, b: number, out: number, count: number, m: number, k: number, n: number, leftT = false, rightT = false): void {
  const { k: kernels, arena } = run;
  const plan = planConv(rowShape(k, m, n), 0, 'forward', run.threads);
  const mark = arena.mark();
  const [at, bt, yt] = [arena.alloc(m * k * 4, 'a product\'s left factor transposed'), arena.alloc(k * n * 4, 'a product\'s right factor transposed'), arena.alloc(m * n * 4, 'a product transposed')];
  const geom = geometryBlock(arena, 'a product', plan, PLAIN, NO_BIAS, null);
  const scratch = arena.alloc(kernels.conv_gemm_scratch(geom) * plan.parts, 'a product\'s scratch');
  for (let t = 0; t < count; t++) {
    if (leftT) kernels.copy(a + t * m * k * 4, at, m * k);
    else kernels.transpose(a + t * m * k * 4, at, m, k);
    if (rightT) kernels.copy(b + t * k * n * 4, bt, k * n);
    else kernels.transpose(b + t * k * n * 4, bt, k, n);
    run.parallel('conv_gemm_forward', [geom, at, bt, 0, yt, scratch], plan.parts);
    kernels.transpose(yt, out + t * m * n * 4, n, m);
  }
  arena.reset(mark);
}
