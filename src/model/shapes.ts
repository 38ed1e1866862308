import { fail } from '../errors.js';
import { weightLength } from './fold-recipe.js';
import type { GraphNode, Pads, Pair } from './ops.js';

/** Per-sample shape: [C, H, W] for feature maps, [F] for feature vectors. */
export type Shape = readonly number[];

/** Output length of a sliding window along one axis (floor mode, as PyTorch and ONNX by default). */
export function windowOut(size: number, kernel: number, stride: number, padBefore: number, padAfter: number, dilation = 1): number {
  return Math.floor((size + padBefore + padAfter - dilation * (kernel - 1) - 1) / stride) + 1;
}

function where(node: GraphNode): string {
  return `node "${node.name}" (${node.op})`;
}

function expectMap(node: GraphNode, s: Shape): [number, number, number] {
  if (s.length !== 3) fail('BAD_GRAPH', `${where(node)} needs a [C, H, W] input, got [${s}]`);
  return [s[0], s[1], s[2]];
}

function checkWindow(node: GraphNode, kernel: Pair, stride: Pair, pads: Pads, dilation: Pair = [1, 1]): void {
  const ok = (v: number, min: number) => Number.isInteger(v) && v >= min;
  if (!kernel.every((v) => ok(v, 1)) || !stride.every((v) => ok(v, 1)) || !dilation.every((v) => ok(v, 1)) || !pads.every((v) => ok(v, 0))) {
    fail('BAD_GRAPH', `${where(node)} has an invalid window: kernel [${kernel}], stride [${stride}], pads [${pads}], dilation [${dilation}]`);
  }
}

function spatial(node: GraphNode, h: number, w: number, kernel: Pair, stride: Pair, pads: Pads, dilation: Pair = [1, 1]): [number, number] {
  checkWindow(node, kernel, stride, pads, dilation);
  const ho = windowOut(h, kernel[0], stride[0], pads[0], pads[2], dilation[0]);
  const wo = windowOut(w, kernel[1], stride[1], pads[1], pads[3], dilation[1]);
  if (ho < 1 || wo < 1) {
    fail('BAD_GRAPH', `${where(node)}: a ${kernel[0]}x${kernel[1]} window does not fit the ${h}x${w} input with pads [${pads}]`);
  }
  return [ho, wo];
}

function checkLength(node: GraphNode, what: string, arr: Float32Array | null | number, expected: number): void {
  const length = typeof arr === 'number' ? arr : arr?.length;
  if (length !== undefined && length !== expected) fail('BAD_GRAPH', `${where(node)}: ${what} has ${length} values, expected ${expected}`);
}

/** Output shape of a node from its input shapes; also validates the node's parameters. */
export function inferShape(node: GraphNode, ins: Shape[]): Shape {
  const arity = node.op === 'Add' ? -1 : 1;
  if (arity === 1 && ins.length !== 1) fail('BAD_GRAPH', `${where(node)} takes one input, got ${ins.length}`);
  switch (node.op) {
    case 'Conv2d': {
      const [c, h, w] = expectMap(node, ins[0]);
      if (node.groups !== 1) {
        fail('UNSUPPORTED', `${where(node)} has groups=${node.groups}; only groups=1 convolutions are supported for now`);
      }
      if (c !== node.inChannels) fail('BAD_GRAPH', `${where(node)} expects ${node.inChannels} input channels, got ${c}`);
      checkLength(node, 'weight', weightLength(node), node.outChannels * node.inChannels * node.kernel[0] * node.kernel[1]);
      checkLength(node, 'bias', node.bias, node.outChannels);
      const [ho, wo] = spatial(node, h, w, node.kernel, node.stride, node.pads, node.dilation);
      return [node.outChannels, ho, wo];
    }
    case 'Linear': {
      const s = ins[0];
      if (s.length !== 1) fail('BAD_GRAPH', `${where(node)} needs a flat input; got [${s}] (add a Flatten before it)`);
      if (s[0] !== node.inFeatures) fail('BAD_GRAPH', `${where(node)} expects ${node.inFeatures} input features, got ${s[0]}`);
      checkLength(node, 'weight', weightLength(node), node.outFeatures * node.inFeatures);
      checkLength(node, 'bias', node.bias, node.outFeatures);
      return [node.outFeatures];
    }
    case 'BatchNorm': {
      const c = ins[0][0];
      if (c !== node.channels) fail('BAD_GRAPH', `${where(node)} normalizes ${node.channels} channels, input has ${c}`);
      for (const key of ['gamma', 'beta', 'mean', 'variance'] as const) checkLength(node, key, node[key], c);
      if (!(node.epsilon >= 0)) fail('BAD_GRAPH', `${where(node)} has epsilon ${node.epsilon}`);
      return ins[0];
    }
    case 'ReLU':
    case 'Identity':
    case 'Softmax':
      return ins[0];
    case 'MaxPool2d':
    case 'AvgPool2d': {
      const [c, h, w] = expectMap(node, ins[0]);
      const [ho, wo] = spatial(node, h, w, node.kernel, node.stride, node.pads);
      if (node.op === 'MaxPool2d' && (node.pads[0] >= node.kernel[0] || node.pads[1] >= node.kernel[1] || node.pads[2] >= node.kernel[0] || node.pads[3] >= node.kernel[1])) {
        fail('BAD_GRAPH', `${where(node)}: padding [${node.pads}] must be smaller than the kernel [${node.kernel}], or a window would hold only padding`);
      }
      return [c, ho, wo];
    }
    case 'GlobalAvgPool': {
      const [c] = expectMap(node, ins[0]);
      return [c, 1, 1];
    }
    case 'Add': {
      if (ins.length < 2) fail('BAD_GRAPH', `${where(node)} needs at least two inputs, got ${ins.length}`);
      for (const s of ins) {
        if (s.length !== ins[0].length || s.some((d, i) => d !== ins[0][i])) {
          fail('BAD_GRAPH', `${where(node)} adds inputs of different shapes: ${ins.map((x) => `[${x}]`).join(' + ')}`);
        }
      }
      return ins[0];
    }
    case 'Flatten':
      return [ins[0].reduce((a, b) => a * b, 1)];
    case 'Pad': {
      const [c, h, w] = expectMap(node, ins[0]);
      if (!node.pads.every((p) => Number.isInteger(p) && p >= 0)) fail('BAD_GRAPH', `${where(node)} has invalid pads [${node.pads}]`);
      return [c, h + node.pads[0] + node.pads[2], w + node.pads[1] + node.pads[3]];
    }
    default: {
      const unknown = node as { op: string; name: string };
      return fail('UNSUPPORTED', `node "${unknown.name}" has unknown op "${unknown.op}"`);
    }
  }
}
