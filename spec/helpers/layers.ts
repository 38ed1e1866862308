import { conv2d, conv2dTranspose, type ConvGeometry } from '../../src/reference/kernels/conv2d.js';
import { linear, linearTranspose } from '../../src/reference/kernels/linear.js';
import { referenceArithmetic } from '../../src/reference/arithmetic.js';
import { transformed } from '../../src/reference/weights.js';
import type { AffineLayer, Vec } from '../../src/rules/types.js';

/** A hand-sized Linear layer (W is [out][in]) for applying one rule directly. */
export function linearLayer(x: number[], W: number[][], b: number[] | null): AffineLayer<Vec> {
  const nout = W.length;
  const nin = x.length;
  const weight = Float64Array.from(W.flat());
  const bias = b ? Float64Array.from(b) : null;
  return {
    name: 'hand',
    math: referenceArithmetic,
    x: Float64Array.from(x),
    batch: 1,
    inputShape: [nin],
    apply: (xm, w, bt) => linear(xm, 1, nin, nout, transformed(weight, w), bt && bias ? transformed(bias, bt) : null),
    transpose: (s, w) => linearTranspose(s, 1, nin, nout, transformed(weight, w)),
  };
}

/** A hand-sized single-channel Conv2d layer. */
export function convLayer(x: number[], h: number, w: number, kernel: number[][], pads: [number, number, number, number]): AffineLayer<Vec> {
  const kh = kernel.length;
  const kw = kernel[0].length;
  const ho = h + pads[0] + pads[2] - kh + 1;
  const wo = w + pads[1] + pads[3] - kw + 1;
  const g: ConvGeometry = { batch: 1, cin: 1, h, w, cout: 1, ho, wo, kernel: [kh, kw], stride: [1, 1], pads, dilation: [1, 1], groups: 1 };
  const weight = Float64Array.from(kernel.flat());
  return {
    name: 'hand-conv',
    math: referenceArithmetic,
    x: Float64Array.from(x),
    batch: 1,
    inputShape: [1, h, w],
    apply: (xm, wt) => conv2d(xm, g, transformed(weight, wt), null),
    transpose: (s, wt) => conv2dTranspose(s, g, transformed(weight, wt)),
  };
}

export const vec = (...v: number[]) => Float64Array.from(v);

export function sum(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s;
}
