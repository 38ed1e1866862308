import type { Pads, Pair } from '../graph/nodes.js';

/**
 * "Same" padding (ONNX auto_pad SAME_UPPER/SAME_LOWER, Keras and TensorFlow padding='same'): the output
 * has ceil(size / stride) positions and the padding is split evenly, the odd one going after
 * (SAME_UPPER, TensorFlow) or before (SAME_LOWER).
 */
export function samePads(mode: 'SAME_UPPER' | 'SAME_LOWER', size: Pair, kernel: Pair, stride: Pair, dilation: Pair): Pads {
  const total = [0, 1].map((i) => Math.max((Math.ceil(size[i] / stride[i]) - 1) * stride[i] + (kernel[i] - 1) * dilation[i] + 1 - size[i], 0));
  const small = total.map((t) => Math.floor(t / 2));
  const large = total.map((t, i) => t - small[i]);
  return mode === 'SAME_UPPER' ? [small[0], small[1], large[0], large[1]] : [large[0], large[1], small[0], small[1]];
}
