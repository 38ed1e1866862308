import type { Pads, Pair } from '../../graph/node.js';

/** Geometry of a convolution on a batch: everything the loops need besides the numbers. */
export interface ConvGeometry {
  batch: number;
  cin: number;
  h: number;
  w: number;
  cout: number;
  ho: number;
  wo: number;
  kernel: readonly [number, number];
  stride: readonly [number, number];
  pads: readonly [number, number, number, number];
  dilation: readonly [number, number];
  /** Channel groups: output channel co reads the cin / groups input channels of group co / (cout / groups). */
  groups: number;
}

/** What a convolution's node says of its window (a Conv2d node is one). */
export interface ConvWindow {
  kernel: Pair;
  stride: Pair;
  pads: Pads;
  dilation: Pair;
  groups: number;
}

export function convGeometry(node: ConvWindow, batch: number, inShape: readonly number[], outShape: readonly number[]): ConvGeometry {
  return {
    batch,
    cin: inShape[0],
    h: inShape[1],
    w: inShape[2],
    cout: outShape[0],
    ho: outShape[1],
    wo: outShape[2],
    kernel: node.kernel,
    stride: node.stride,
    pads: node.pads,
    dilation: node.dilation,
    groups: node.groups,
  };
}

/** First kernel tap k with 0 <= o*stride - pad + k*dilation. */
function tapLo(o: number, stride: number, pad: number, dilation: number, kernel: number): number {
  const start = o * stride - pad;
  let lo = 0;
  while (lo < kernel && start + lo * dilation < 0) lo++;
  return lo;
}

/** One past the last kernel tap k with o*stride - pad + k*dilation < size. */
function tapHi(o: number, stride: number, pad: number, dilation: number, kernel: number, size: number, lo: number): number {
  const start = o * stride - pad;
  let hi = kernel;
  while (hi > lo && start + (hi - 1) * dilation >= size) hi--;
  return hi;
}

/** y = W * x + b (cross-correlation, as every framework's conv). Weight [cout, cin / groups, kh, kw]. */
export function conv2d(x: Float64Array, g: ConvGeometry, weight: ArrayLike<number>, bias: ArrayLike<number> | null): Float64Array {
  const { batch, cin, h, w, cout, ho, wo, kernel: [kh, kw], stride: [sh, sw], pads: [pt, pl], dilation: [dh, dw], groups } = g;
  const cinG = cin / groups, coutG = cout / groups;
  const y = new Float64Array(batch * cout * ho * wo);
  for (let n = 0; n < batch; n++) {
    for (let co = 0; co < cout; co++) {
      const b = bias ? bias[co] : 0;
      for (let oh = 0; oh < ho; oh++) {
        const kh0 = tapLo(oh, sh, pt, dh, kh);
        const kh1 = tapHi(oh, sh, pt, dh, kh, h, kh0);
        for (let ow = 0; ow < wo; ow++) {
          const kw0 = tapLo(ow, sw, pl, dw, kw);
          const kw1 = tapHi(ow, sw, pl, dw, kw, w, kw0);
          let acc = b;
          const c0 = Math.floor(co / coutG) * cinG;
          for (let ci = c0; ci < c0 + cinG; ci++) {
            const xBase = (n * cin + ci) * h * w;
            const wBase = (co * cinG + ci - c0) * kh * kw;
            for (let i = kh0; i < kh1; i++) {
              const row = xBase + (oh * sh - pt + i * dh) * w + ow * sw - pl;
              for (let j = kw0; j < kw1; j++) acc += x[row + j * dw] * weight[wBase + i * kw + j];
            }
          }
          y[((n * cout + co) * ho + oh) * wo + ow] = acc;
        }
      }
    }
  }
  return y;
}

/** dx = W^T * dy: the transposed convolution (backward-data), used by the gradient and by every rule. */
export function conv2dTranspose(dy: Float64Array, g: ConvGeometry, weight: ArrayLike<number>): Float64Array {
  const { batch, cin, h, w, cout, ho, wo, kernel: [kh, kw], stride: [sh, sw], pads: [pt, pl], dilation: [dh, dw], groups } = g;
  const cinG = cin / groups, coutG = cout / groups;
  const dx = new Float64Array(batch * cin * h * w);
  for (let n = 0; n < batch; n++) {
    for (let co = 0; co < cout; co++) {
      for (let oh = 0; oh < ho; oh++) {
        const kh0 = tapLo(oh, sh, pt, dh, kh);
        const kh1 = tapHi(oh, sh, pt, dh, kh, h, kh0);
        for (let ow = 0; ow < wo; ow++) {
          const kw0 = tapLo(ow, sw, pl, dw, kw);
          const kw1 = tapHi(ow, sw, pl, dw, kw, w, kw0);
          const gv = dy[((n * cout + co) * ho + oh) * wo + ow];
          if (gv === 0) continue;
          const c0 = Math.floor(co / coutG) * cinG;
          for (let ci = c0; ci < c0 + cinG; ci++) {
            const xBase = (n * cin + ci) * h * w;
            const wBase = (co * cinG + ci - c0) * kh * kw;
            for (let i = kh0; i < kh1; i++) {
              const row = xBase + (oh * sh - pt + i * dh) * w + ow * sw - pl;
              for (let j = kw0; j < kw1; j++) dx[row + j * dw] += gv * weight[wBase + i * kw + j];
            }
          }
        }
      }
    }
  }
  return dx;
}
