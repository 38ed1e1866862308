/**
 * Each Keras layer class relprop reads, as a function from the layer (KerasLayer) to the graph value that
 * holds its output; the importer's layer list is this table's keys. NHWC kernels become NCHW ones here.
 */
import { fail } from '../../errors.js';
import type { Pads } from '../../graph/nodes.js';
import { globalPool, product } from '../rewrites.js';
import { convKernelFromHWIO, denseKernelFromInOut, depthwiseKernelFromHWCM } from '../nhwc.js';
import { samePads } from '../padding.js';
import { KerasLayer } from './keras-layer.js';

type Converter = (l: KerasLayer) => string;

function inputLayer(l: KerasLayer): string {
  if (l.r.inputHWC) fail('UNSUPPORTED', `${l.where}: a second input; relprop explains models with one image input`);
  if (l.src.length) fail('BAD_MODEL', `${l.where} has inputs`);
  const shape = (l.c.batch_input_shape ?? l.c.batch_shape) as unknown;
  declareInput(l, shape, l.name);
  return l.name;
}

export function declareInput(l: KerasLayer, shape: unknown, name: string): void {
  if (!Array.isArray(shape) || shape.length !== 4 || !shape.slice(1).every((d) => Number.isInteger(d) && d > 0)) {
    fail('UNSUPPORTED', `${l.where}: input shape ${JSON.stringify(shape)}; relprop needs a fixed [null, H, W, C] image input`);
  }
  l.r.inputHWC = [shape[1], shape[2], shape[3]];
  l.r.emitter.setInput(name, [shape[3], shape[1], shape[2]]);
}

function conv2d(l: KerasLayer): string {
  const { c, where } = l;
  const [cin, h, w] = l.mapShape();
  const filters = Number(c.filters);
  const kernel = l.pair('kernel_size');
  const stride = l.pair('strides', 1);
  const dilation = l.pair('dilation_rate', 1);
  const groups = Number(c.groups ?? 1);
  if (!Number.isInteger(groups) || groups < 1 || cin % groups !== 0) fail('BAD_MODEL', `${where}: groups=${String(c.groups)} does not divide its ${cin} input channels`);
  const cinG = cin / groups;
  let pads: Pads = [0, 0, 0, 0];
  if (c.padding === 'same') pads = samePads('SAME_UPPER', [h, w], kernel, stride, dilation);
  else if (c.padding !== 'valid') fail('UNSUPPORTED', `${where}: padding "${String(c.padding)}"`);
  const weight = convKernelFromHWIO(l.param('kernel', [kernel[0], kernel[1], cinG, filters])!, kernel[0], kernel[1], cinG, filters);
  const bias = c.use_bias === false ? null : l.param('bias', [filters]);
  const conv = l.emit({ op: 'Conv2d', name: l.name, inputs: [l.one()], inChannels: cin, outChannels: filters, kernel, stride, pads, dilation, groups, weight, bias });
  return l.activation(conv, c.activation);
}

function dense(l: KerasLayer): string {
  const x = l.one();
  const s = l.shape(x);
  if (s.length !== 1) fail('UNSUPPORTED', `${l.where} reads a [${s}] tensor; relprop reads Dense layers on flat inputs (add a Flatten)`);
  const units = Number(l.c.units);
  const nin = s[0];
  // Keras rows are in the order of the flattened NHWC map; relprop's are in NCHW order.
  const weight = denseKernelFromInOut(l.param('kernel', [nin, units])!, nin, units, l.r.flattenedFrom.get(x));
  const bias = l.c.use_bias === false ? null : l.param('bias', [units]);
  return l.activation(l.emit({ op: 'Linear', name: l.name, inputs: [x], inFeatures: nin, outFeatures: units, weight, bias }), l.c.activation);
}

/** BatchNormalization of a map's channels, or of a flat value's features (after a Dense layer, into which it folds). */
function batchNormalization(l: KerasLayer): string {
  const { c, where } = l;
  const s = l.shape();
  if (s.length !== 3 && s.length !== 1) fail('BAD_MODEL', `${where} normalizes a [${s}] value`);
  const ch = s[0];
  const axis = Array.isArray(c.axis) ? c.axis : [c.axis ?? -1];
  if (axis.length !== 1 || (axis[0] !== -1 && axis[0] !== s.length)) fail('UNSUPPORTED', `${where}: axis ${JSON.stringify(c.axis)}; relprop normalizes the channel axis only`);
  const gamma = c.scale === false ? new Float32Array(ch).fill(1) : l.param('gamma', [ch])!;
  const beta = c.center === false ? new Float32Array(ch) : l.param('beta', [ch])!;
  const [mean, variance] = [l.param('moving_mean', [ch])!, l.param('moving_variance', [ch])!];
  return l.emit({ op: 'BatchNorm', name: l.name, inputs: [l.one()], channels: ch, gamma, beta, mean, variance, epsilon: Number(c.epsilon ?? 1e-3) });
}

function activationLayer(l: KerasLayer): string {
  const out = l.activation(l.one(), l.c.activation, true);
  return out === l.src[0] ? l.emit({ op: 'Identity', name: l.name, inputs: [out] }) : out;
}

function relu(l: KerasLayer): string {
  const { c, where, name } = l;
  const max = c.max_value ?? null;
  const slope = Number(c.negative_slope ?? 0);
  if (Number(c.threshold ?? 0) !== 0) fail('UNSUPPORTED', `${where}: a thresholded ReLU (threshold ${String(c.threshold)})`);
  if (max !== null && slope !== 0) fail('UNSUPPORTED', `${where}: a ReLU both capped (max_value ${String(max)}) and leaky (negative_slope ${slope})`);
  if (max !== null) return l.emit({ op: 'Clip', name, inputs: [l.one()], min: 0, max: Number(max) });
  if (slope !== 0) return l.emit({ op: 'LeakyReLU', name, inputs: [l.one()], alpha: slope });
  return l.emit({ op: 'ReLU', name, inputs: [l.one()] });
}

function depthwiseConv(l: KerasLayer): string {
  const { c, where, name } = l;
  const [cin, h, w] = l.mapShape();
  const kernel = l.pair('kernel_size');
  const stride = l.pair('strides', 1);
  const dilation = l.pair('dilation_rate', 1);
  // TF.js leaves depth_multiplier out of a SeparableConv2D's config: the kernel's shape has it.
  const stored = [...l.r.weights].find(([key]) => key.replace(/:0$/, '').endsWith(`${name}/depthwise_kernel`))?.[1].shape;
  const mult = Number(c.depth_multiplier ?? stored?.[3] ?? 1);
  if (!Number.isInteger(mult) || mult < 1) fail('BAD_MODEL', `${where}: depth_multiplier ${String(c.depth_multiplier)}`);
  const pads = l.windowPads(h, w, kernel, stride, dilation);
  const separable = l.className === 'SeparableConv2D';
  const dwBias = !separable && c.use_bias !== false ? l.param('bias', [cin * mult]) : null;
  // A depthwise kernel [kh, kw, cin, mult] as a grouped conv's [cin * mult, 1, kh, kw]: output ci * mult + m reads channel ci.
  const dwWeight = depthwiseKernelFromHWCM(l.param('depthwise_kernel', [kernel[0], kernel[1], cin, mult])!, kernel[0], kernel[1], cin, mult);
  let y = l.emit({ op: 'Conv2d', name: separable ? `${name}/depthwise` : name, inputs: [l.one()], inChannels: cin, outChannels: cin * mult, kernel, stride, pads, dilation, groups: cin, weight: dwWeight, bias: dwBias });
  if (separable) {
    const filters = Number(c.filters);
    const weight = convKernelFromHWIO(l.param('pointwise_kernel', [1, 1, cin * mult, filters])!, 1, 1, cin * mult, filters);
    const bias = c.use_bias === false ? null : l.param('bias', [filters]);
    y = l.emit({ op: 'Conv2d', name, inputs: [y], inChannels: cin * mult, outChannels: filters, kernel: [1, 1], stride: [1, 1], pads: [0, 0, 0, 0], dilation: [1, 1], groups: 1, weight, bias });
  }
  return l.activation(y, c.activation);
}

function concatenate(l: KerasLayer): string {
  const rank = l.shape(l.src[0]).length + 1;
  const axis = Number(l.c.axis ?? -1);
  if (axis !== -1 && axis !== rank - 1) fail('UNSUPPORTED', `${l.where}: axis ${axis}; relprop concatenates along channels (the last axis) only`);
  return l.emit({ op: 'Concat', name: l.name, inputs: l.src });
}

function multiply(l: KerasLayer): string {
  const gated = l.src.length === 2 ? product(l.r.emitter, l.name, l.src[0], l.src[1]) : null;
  if (gated) return gated;
  return fail('UNSUPPORTED', `${l.where} multiplies ${l.src.map((v) => `"${v}" [${l.shape(v)}]`).join(' by ')}; relprop reads Multiply only as a squeeze-and-excitation gate (a map times a per-channel sigmoid or hard_sigmoid of shape (1, 1, C)) or x * sigmoid(x)`);
}

function reshape(l: KerasLayer): string {
  const { where, name } = l;
  const x = l.one();
  const s = l.shape(x);
  const target = l.c.target_shape;
  const per = s.reduce((a, b) => a * b, 1);
  const channels = Array.isArray(target) ? target[target.length - 1] : undefined;
  const flat = Array.isArray(target) && target.length === 1 && target[0] === per;
  const unflat = Array.isArray(target) && target.length === 3 && target[0] === 1 && target[1] === 1 && channels === per;
  if (flat && s.length === 3 && s[1] === 1 && s[2] === 1) return l.emit({ op: 'Flatten', name, inputs: [x] });
  if (flat && s.length === 1) return l.emit({ op: 'Identity', name, inputs: [x] });
  if (unflat) {
    // (C,) -> (1, 1, C), as SE blocks write it: the value before the flattening, when there is one.
    const before = l.r.emitter.byName.get(x);
    if (before?.op !== 'Flatten' || l.shape(before.inputs[0]).length !== 3) {
      fail('UNSUPPORTED', `${where} reshapes [${s}] to ${JSON.stringify(target)}; relprop reads (C,) -> (1, 1, C) only of a pooled (C, 1, 1) map`);
    }
    return l.emit({ op: 'Identity', name, inputs: [before.inputs[0]] });
  }
  return fail('UNSUPPORTED', `${where} reshapes [${s}] to ${JSON.stringify(target)}; relprop reads reshapes between (1, 1, C) and (C,) only`);
}

function zeroPadding(l: KerasLayer): string {
  l.mapShape();
  const p = l.c.padding;
  let pads: Pads;
  if (typeof p === 'number') pads = [p, p, p, p];
  else if (Array.isArray(p) && p.length === 2 && p.every((x) => typeof x === 'number')) pads = [p[0], p[1], p[0], p[1]];
  else if (Array.isArray(p) && p.length === 2 && p.every((x) => Array.isArray(x) && x.length === 2)) pads = [p[0][0], p[1][0], p[0][1], p[1][1]];
  else return fail('BAD_MODEL', `${l.where}: padding ${JSON.stringify(p)}`);
  return l.emit({ op: 'Pad', name: l.name, inputs: [l.one()], pads });
}

function pooling(l: KerasLayer): string {
  const [, h, w] = l.mapShape();
  const kernel = l.pair('pool_size', 2);
  const stride = l.pair('strides', kernel);
  let pads: Pads = [0, 0, 0, 0];
  if (l.c.padding === 'same') pads = samePads('SAME_UPPER', [h, w], kernel, stride, [1, 1]);
  else if (l.c.padding !== undefined && l.c.padding !== 'valid') fail('UNSUPPORTED', `${l.where}: padding "${String(l.c.padding)}"`);
  if (l.className === 'MaxPooling2D') return l.emit({ op: 'MaxPool2d', name: l.name, inputs: [l.one()], kernel, stride, pads });
  return l.emit({ op: 'AvgPool2d', name: l.name, inputs: [l.one()], kernel, stride, pads, countIncludePad: false });
}

const globalPooling = (kind: 'mean' | 'max'): Converter => (l) => {
  l.mapShape();
  // Named as before the rewrite: a kept-dims pool is the layer, a flat one the layer's Flatten of "name/pool".
  const keep = l.c.keepdims === true;
  const x = l.one();
  if (kind === 'mean') {
    const pooled = l.emit({ op: 'GlobalAvgPool', name: keep ? l.name : `${l.name}/pool`, inputs: [x] });
    return keep ? pooled : l.emit({ op: 'Flatten', name: l.name, inputs: [pooled] });
  }
  return globalPool(l.r.emitter, l.name, x, kind, keep, l.where);
};

function flatten(l: KerasLayer): string {
  const s = l.shape();
  const out = l.emit({ op: 'Flatten', name: l.name, inputs: [l.one()] });
  if (s.length === 3 && (s[1] > 1 || s[2] > 1)) l.r.flattenedFrom.set(out, [s[0], s[1], s[2]]);
  return out;
}

/** Each Keras layer class relprop reads, and how it becomes relprop's graph. */
export const CONVERTERS: Record<string, Converter> = {
  InputLayer: inputLayer,
  ZeroPadding2D: zeroPadding,
  Conv2D: conv2d,
  BatchNormalization: batchNormalization,
  Activation: activationLayer,
  ReLU: relu,
  // Keras 2 and TF.js call the slope alpha (default 0.3), Keras 3 negative_slope.
  LeakyReLU: (l) => l.emit({ op: 'LeakyReLU', name: l.name, inputs: [l.one()], alpha: Number(l.c.alpha ?? l.c.negative_slope ?? 0.3) }),
  MaxPooling2D: pooling,
  AveragePooling2D: pooling,
  GlobalAveragePooling2D: globalPooling('mean'),
  GlobalMaxPooling2D: globalPooling('max'),
  Flatten: flatten,
  Dense: dense,
  Add: (l) => l.emit({ op: 'Add', name: l.name, inputs: l.src }),
  Dropout: (l) => l.emit({ op: 'Identity', name: l.name, inputs: [l.one()] }),
  DepthwiseConv2D: depthwiseConv,
  SeparableConv2D: depthwiseConv,
  Concatenate: concatenate,
  Multiply: multiply,
  Reshape: reshape,
};

export const KERAS_LAYERS = Object.keys(CONVERTERS);

