import type { Pads } from '../../graph/node.js';

/** An inference-mode BatchNorm's statistics and affine parameters (a BatchNorm node is one). */
interface BatchNormParams {
  channels: number;
  gamma: Float32Array;
  beta: Float32Array;
  mean: Float32Array;
  variance: Float32Array;
  epsilon: number;
}

export function relu(x: Float64Array): Float64Array {
  return x.map((v) => (v > 0 ? v : 0));
}

/** ReLU's gradient: passes where the input was positive (0 at 0, as PyTorch). */
export function reluGrad(dy: Float64Array, x: Float64Array): Float64Array {
  return dy.map((g, i) => (x[i] > 0 ? g : 0));
}

/** Per-channel scale of an inference-mode BatchNorm: gamma / sqrt(var + eps). */
export function bnScale(node: BatchNormParams): Float64Array {
  return Float64Array.from(node.gamma, (g, c) => g / Math.sqrt(node.variance[c] + node.epsilon));
}

/** y = (x - mean) * s + beta per channel; `plane` is H*W (1 for feature vectors). */
export function batchNorm(x: Float64Array, node: BatchNormParams, plane: number): Float64Array {
  const s = bnScale(node);
  const c = node.channels;
  return x.map((v, i) => {
    const ch = Math.floor(i / plane) % c;
    return (v - node.mean[ch]) * s[ch] + node.beta[ch];
  });
}

export function batchNormGrad(dy: Float64Array, node: BatchNormParams, plane: number): Float64Array {
  const s = bnScale(node);
  return dy.map((g, i) => g * s[Math.floor(i / plane) % node.channels]);
}

export function pad(x: Float64Array, planes: number, h: number, w: number, pads: Pads): Float64Array {
  const [pt, pl, pb, pr] = pads;
  const H = h + pt + pb;
  const W = w + pl + pr;
  const y = new Float64Array(planes * H * W);
  for (let p = 0; p < planes; p++) {
    for (let i = 0; i < h; i++) y.set(x.subarray((p * h + i) * w, (p * h + i + 1) * w), (p * H + i + pt) * W + pl);
  }
  return y;
}

/** The inverse of pad: what lands on padding is dropped. */
export function crop(y: Float64Array, planes: number, h: number, w: number, pads: Pads): Float64Array {
  const [pt, pl, pb, pr] = pads;
  const H = h + pt + pb;
  const W = w + pl + pr;
  const x = new Float64Array(planes * h * w);
  for (let p = 0; p < planes; p++) {
    for (let i = 0; i < h; i++) x.set(y.subarray((p * H + i + pt) * W + pl, (p * H + i + pt) * W + pl + w), (p * h + i) * w);
  }
  return x;
}
