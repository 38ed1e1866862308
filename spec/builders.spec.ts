import { describe, expect, it } from 'vitest';
import { ARCHITECTURES, buildModel } from '../src/index.js';
import type { Graph } from '../src/graph/graph.js';

/** Parameters as PyTorch counts them (BatchNorm: gamma and beta; running statistics are buffers). */
function torchParams(g: Graph): number {
  let n = 0;
  for (const node of g.nodes) {
    if (node.op === 'Conv2d' || node.op === 'Linear') n += node.weight.length + (node.bias?.length ?? 0);
    if (node.op === 'BatchNorm') n += 2 * node.channels;
  }
  return n;
}

/** Parameters as Keras counts them (BatchNorm's moving mean and variance included). */
function kerasParams(g: Graph): number {
  return torchParams(g) + g.nodes.reduce((n, node) => n + (node.op === 'BatchNorm' ? 2 * node.channels : 0), 0);
}

describe('architectures', () => {
  // Published parameter counts (torchvision's model docs; Keras's ResNet50 summary) check the layouts.
  it.each([
    ['resnet18', 11_689_512],
    ['resnet34', 21_797_672],
    ['resnet50', 25_557_032],
    ['vgg11', 132_863_336],
    ['vgg16_bn', 138_365_992],
    ['resnext50_32x4d', 25_028_904],
    ['mobilenet_v2', 3_504_872],
    ['mobilenet_v3_small', 2_542_856],
    ['efficientnet_b0', 5_288_548],
    ['densenet121', 7_978_856],
  ])('%s at 224x224 has the published %i parameters', (arch, count) => {
    expect(torchParams(buildModel(arch).graph)).toBe(count);
  });

  it.each([
    ['keras-mobilenet', 4_253_864],
    ['keras-mobilenet-v2', 3_538_984],
  ])('%s has the published (Keras) %i parameters and ends in a softmax', (arch, count) => {
    const m = buildModel(arch);
    expect(kerasParams(m.graph)).toBe(count);
    expect(m.graph.nodes.at(-1)!.op).toBe('Softmax');
  });

  it('keras-resnet50 has the published 25,636,712 parameters and ends in a softmax', () => {
    const m = buildModel('keras-resnet50');
    expect(kerasParams(m.graph)).toBe(25_636_712);
    expect(m.graph.nodes.at(-1)!.op).toBe('Softmax');
    expect(m.graph.logitsName).toBe('predictions');
  });

  it.each(ARCHITECTURES.map((a) => [a]))('%s builds at a reduced size, runs, and is deterministic in its seed', async (arch) => {
    const opts = { inputSize: 32, width: 4, hidden: 8, numClasses: 7, seed: 11 };
    const a = buildModel(arch, opts);
    const x = Float32Array.from({ length: 3 * 32 * 32 }, (_, i) => Math.cos(i));
    const logits = await a.forward(x);
    expect(logits.length).toBe(7);
    expect(logits.every(Number.isFinite)).toBe(true);
    expect(Array.from(await buildModel(arch, opts).forward(x))).toEqual(Array.from(logits));
    expect(Array.from(await buildModel(arch, { ...opts, seed: 12 }).forward(x))).not.toEqual(Array.from(logits));
  });

  it('torchvision bottlenecks stride in the 3x3 conv, Keras blocks in the first 1x1 conv', () => {
    const tv = buildModel('resnet50', { inputSize: 64, width: 8, numClasses: 3 }).graph;
    const keras = buildModel('keras-resnet50', { inputSize: 64, width: 8, numClasses: 3 }).graph;
    const stride = (g: Graph, name: string) => {
      const n = g.byName.get(name)!;
      return n.op === 'Conv2d' ? n.stride[0] : -1;
    };
    expect([stride(tv, 'layer2.0.conv1'), stride(tv, 'layer2.0.conv2')]).toEqual([1, 2]);
    expect([stride(keras, 'conv3_block1_1_conv'), stride(keras, 'conv3_block1_2_conv')]).toEqual([2, 1]);
  });

  it('canonicalization folds every BatchNorm and moves Keras zero padding into the stem conv', () => {
    const keras = buildModel('keras-resnet50', { inputSize: 64, width: 8, numClasses: 3 });
    const c = keras.canonicalGraph();
    expect(c.nodes.filter((n) => n.op === 'BatchNorm')).toHaveLength(0);
    const stem = c.byName.get('conv1_conv')!;
    expect(stem.op === 'Conv2d' && stem.inputs[0] === 'input' && stem.pads).toEqual([3, 3, 3, 3]);
    // The pad before the max-pool stays: max-pool pads with -infinity, Keras with zeros.
    expect(c.byName.get('pool1_pad')?.op).toBe('Pad');
    expect(keras.canonicalGraph(false).nodes.filter((n) => n.op === 'BatchNorm').length).toBe(53);
  });
});
