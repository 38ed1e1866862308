// Shape helpers the op modules share: windows, channel checks, parameter lengths.
import { fail } from '../errors.js';
import { where, type AnyNode, type Pads, type Pair, type Shape } from '../graph/node.js';

/** Output length of a sliding window along one axis (floor mode, as PyTorch and ONNX by default). */
export function windowOut(size: number, kernel: number, stride: number, padBefore: number, padAfter: number, dilation = 1): number {
  return Math.floor((size + padBefore + padAfter - dilation * (kernel - 1) - 1) / stride) + 1;
}

export function expectMap(node: AnyNode, s: Shape): [number, number, number] {
  if (s.length !== 3) fail('BAD_GRAPH', `${where(node)} needs a [C, H, W] input, got [${s}]`);
  return [s[0], s[1], s[2]];
}

function checkWindow(node: AnyNode, kernel: Pair, stride: Pair, pads: Pads, dilation: Pair = [1, 1]): void {
  const ok = (v: number, min: number) => Number.isInteger(v) && v >= min;
  if (!kernel.every((v) => ok(v, 1)) || !stride.every((v) => ok(v, 1)) || !dilation.every((v) => ok(v, 1)) || !pads.every((v) => ok(v, 0))) {
    fail('BAD_GRAPH', `${where(node)} has an invalid window: kernel [${kernel}], stride [${stride}], pads [${pads}], dilation [${dilation}]`);
  }
}

/** Output height and width of a window sliding over h x w; the window must fit. */
export function spatial(node: AnyNode, h: number, w: number, kernel: Pair, stride: Pair, pads: Pads, dilation: Pair = [1, 1]): [number, number] {
  checkWindow(node, kernel, stride, pads, dilation);
  const ho = windowOut(h, kernel[0], stride[0], pads[0], pads[2], dilation[0]);
  const wo = windowOut(w, kernel[1], stride[1], pads[1], pads[3], dilation[1]);
  if (ho < 1 || wo < 1) {
    fail('BAD_GRAPH', `${where(node)}: a ${kernel[0]}x${kernel[1]} window does not fit the ${h}x${w} input with pads [${pads}]`);
  }
  return [ho, wo];
}

export function checkLength(node: AnyNode, what: string, arr: Float32Array | null | number, expected: number): void {
  const length = typeof arr === 'number' ? arr : arr?.length;
  if (length !== undefined && length !== expected) fail('BAD_GRAPH', `${where(node)}: ${what} has ${length} values, expected ${expected}`);
}
