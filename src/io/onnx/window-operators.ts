/**
 * The ONNX operators with a window over H and W: Conv, MaxPool and AveragePool, and Pad, with the
 * padding they share (explicit pads, auto_pad, ceil_mode).
 */
import { fail } from '../../errors.js';
import type { Pads, Pair } from '../../graph/nodes.js';
import type { Shape } from '../../graph/shapes.js';
import { samePads } from '../padding.js';
import { pads4, pair, intsAttr, stringAttr, type Attrs, type OnnxOp } from './node.js';

export function conv(op: OnnxOp): string {
  const { where, attrs } = op;
  const x = op.value(0);
  const w = op.constant(1, 'weight');
  if (!w?.floats || w.dims.length !== 4) fail('UNSUPPORTED', `${where}: weight of shape [${w?.dims}] is not that of a 2-D convolution`);
  const [cout, cin, kh, kw] = w.dims;
  const group = op.int('group', 1);
  const kernel = pair(op.ints('kernel_shape'), 0, where, 'kernel_shape');
  if (attrs.has('kernel_shape') && (kernel[0] !== kh || kernel[1] !== kw)) fail('BAD_MODEL', `${where}: kernel_shape [${kernel}] disagrees with weight [${w.dims}]`);
  const stride = pair(op.ints('strides'), 1, where, 'strides');
  const dilation = pair(op.ints('dilations'), 1, where, 'dilations');
  const xs = op.shapeOf(x);
  if (!Number.isInteger(group) || group < 1 || cout % group !== 0 || xs[0] !== cin * group) {
    fail('BAD_MODEL', `${where}: group=${group} with a weight of shape [${w.dims}] reads ${cin * group} channels into ${cout} outputs; its input has ${xs[0]} channels (group must divide both)`);
  }
  const { pads } = windowPads(attrs, where, xs, [kh, kw], stride, dilation);
  const bias = op.n.input[2] ? op.floats(2, 'bias') : null;
  return op.emit({ op: 'Conv2d', name: op.out, inputs: [x], inChannels: cin * group, outChannels: cout, kernel: [kh, kw], stride, pads, dilation, groups: group, weight: w.floats, bias });
}

export function pool(op: OnnxOp): string {
  const { where, attrs } = op;
  const x = op.value(0);
  const xs = op.shapeOf(x);
  const kernel = pair(op.ints('kernel_shape'), 0, where, 'kernel_shape');
  const stride = pair(op.ints('strides'), 1, where, 'strides');
  const dilation = pair(op.ints('dilations'), 1, where, 'dilations');
  if (dilation[0] !== 1 || dilation[1] !== 1) fail('UNSUPPORTED', `${where}: dilated pooling (dilations [${dilation}])`);
  if (xs.length !== 3) fail('BAD_MODEL', `${where} pools a [${xs}] input`);
  const window = windowPads(attrs, where, xs, kernel, stride, [1, 1]);
  const pads = op.int('ceil_mode', 0) === 1 ? ceilPads(xs, kernel, stride, window.pads) : window.pads;
  if (op.n.opType === 'MaxPool') return op.emit({ op: 'MaxPool2d', name: op.out, inputs: [x], kernel, stride, pads });
  const countIncludePad = op.int('count_include_pad', 0) === 1;
  if (countIncludePad && pads.some((p, i) => p !== window.explicit[i]) && window.auto === 'NOTSET') {
    fail('UNSUPPORTED', `${where}: ceil_mode=1 with count_include_pad=1 (windows past the edge are divided differently)`);
  }
  return op.emit({ op: 'AvgPool2d', name: op.out, inputs: [x], kernel, stride, pads, countIncludePad });
}

/** Zero padding of H and W (folded into the convolution after it). */
export function pad(op: OnnxOp): string {
  const { where } = op;
  const x = op.value(0);
  const mode = op.string('mode', 'constant');
  if (mode !== 'constant') fail('UNSUPPORTED', `${where}: mode "${mode}"; relprop reads zero padding only`);
  let p: number[] | undefined;
  let fill = 0;
  if (op.opset < 11) {
    p = op.ints('pads');
    fill = op.float('value', 0);
  } else {
    p = op.constant(1, 'pads')?.ints;
    if (op.n.input[2]) fill = op.floats(2, 'constant_value')[0] ?? 0;
    if (op.n.input[3]) fail('UNSUPPORTED', `${where}: the axes input`);
  }
  if (fill !== 0) fail('UNSUPPORTED', `${where}: pads with the value ${fill}; relprop reads zero padding only`);
  if (!p || p.length !== 8 || p[0] || p[1] || p[4] || p[5] || p.some((v) => v < 0)) {
    fail('UNSUPPORTED', `${where}: pads [${p}]; relprop reads non-negative padding of H and W only`);
  }
  return op.emit({ op: 'Pad', name: op.out, inputs: [x], pads: [p[2], p[3], p[6], p[7]] });
}

/**
 * A Conv's or pool's padding: its explicit `pads`, or what `auto_pad` (SAME_UPPER, SAME_LOWER, VALID)
 * works out for this input. Returns both, and the auto_pad mode.
 */
function windowPads(attrs: Attrs, where: string, xs: Shape, kernel: Pair, stride: Pair, dilation: Pair): { pads: Pads; explicit: Pads; auto: string } {
  const explicit = pads4(intsAttr(attrs, 'pads'), where);
  const auto = stringAttr(attrs, 'auto_pad', 'NOTSET');
  let pads = explicit;
  if (auto === 'SAME_UPPER' || auto === 'SAME_LOWER') pads = samePads(auto, [xs[1], xs[2]], kernel, stride, dilation);
  else if (auto === 'VALID') pads = [0, 0, 0, 0];
  else if (auto !== 'NOTSET') fail('UNSUPPORTED', `${where}: auto_pad "${auto}"`);
  return { pads, explicit, auto };
}

/** Extra bottom/right padding that makes a floor-mode window count equal ceil_mode's (PyTorch's rule). */
function ceilPads(xs: Shape, kernel: Pair, stride: Pair, pads: Pads): Pads {
  const extra = [0, 1].map((i) => {
    const size = xs[i + 1] + pads[i] + pads[i + 2];
    let out = Math.ceil((size - kernel[i]) / stride[i]) + 1;
    // The last window must start inside the image or its leading padding.
    if ((out - 1) * stride[i] >= xs[i + 1] + pads[i]) out--;
    return Math.max((out - 1) * stride[i] + kernel[i] - size, 0);
  });
  return [pads[0], pads[1], pads[2] + extra[0], pads[3] + extra[1]];
}
