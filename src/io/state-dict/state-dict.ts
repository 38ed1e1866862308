/**
 * A state dict into a `buildModel` architecture, by torchvision's module names (which the builders
 * use as node names; timm's and Paddle's are mapped onto them by names.ts): `<module>.weight` and
 * `.bias` of convs and linear layers, BatchNorm's `.weight`, `.bias`, `.running_mean`, `.running_var`.
 * Widths and class counts come from the file: the stem conv's weight gives the builder's width and
 * input channels, the classifier's its class count.
 */
import { fail } from '../../errors.js';
import { buildModel, type BuildOptions } from '../../architectures/index.js';
import type { Graph } from '../../graph/graph.js';
import { isAffine } from '../../graph/nodes.js';
import type { GraphNode } from '../../graph/nodes.js';
import { transpose2d } from '../tensor.js';
import { torchvisionNames, type Named, type Origin } from './names.js';
import type { Tensors } from './tensors.js';

/** The parameters each node reads, with the shapes the graph expects. */
function expected(node: GraphNode): [string, number[], Float32Array | null][] {
  switch (node.op) {
    case 'Conv2d':
      return [
        ['weight', [node.outChannels, node.inChannels / node.groups, ...node.kernel], node.weight],
        ...(node.bias ? [['bias', [node.outChannels], node.bias] as [string, number[], Float32Array]] : []),
      ];
    case 'Linear':
      return [['weight', [node.outFeatures, node.inFeatures], node.weight], ...(node.bias ? [['bias', [node.outFeatures], node.bias] as [string, number[], Float32Array]] : [])];
    case 'BatchNorm':
      return (['weight', 'bias', 'running_mean', 'running_var'] as const).map((k) => [k, [node.channels], { weight: node.gamma, bias: node.beta, running_mean: node.mean, running_var: node.variance }[k]]);
    default:
      return [];
  }
}

const shapeText = (s: readonly number[]) => `[${s.join(', ')}]`;

/** The model of architecture `arch` holding the state dict's weights; every tensor must be used and fit. */
export function modelFromStateDict(arch: string, raw: Tensors, options: Pick<BuildOptions, 'inputSize'> & { where: string }): { model: ReturnType<typeof buildModel>; origin: Origin } {
  const named = torchvisionNames(arch, new Map([...raw].filter(([k]) => !k.endsWith('num_batches_tracked'))));
  const { tensors } = named;
  const probe = buildModel(arch, { inputSize: options.inputSize, width: 8, numClasses: 2 }).graph;
  const affine = probe.upstream(probe.logitsName).filter(isAffine);
  const [stem, head] = [affine[0], affine[affine.length - 1]];
  const stemW = tensors.get(`${stem.name}.weight`);
  const headW = tensors.get(`${head.name}.weight`);
  if (!stemW || !headW) {
    fail('BAD_MODEL', `${options.where} has no "${!stemW ? stem.name : head.name}.weight", which a ${arch} must have; ${suggestion(raw)}`);
  }
  const width = stemW.shape[0];
  const outputs = (w: { shape: number[] }) => w.shape[named.linearInOut ? 1 : 0];
  // VGG's hidden layers: the first fully connected layer's outputs.
  const hiddenW = arch.startsWith('vgg') ? tensors.get('classifier.0.weight') : undefined;
  const model = buildModel(arch, { inputSize: options.inputSize, width, inChannels: stemW.shape[1], numClasses: outputs(headW), hidden: hiddenW && outputs(hiddenW) });
  fill(model.graph, named, arch, options.where, raw);
  return { model, origin: named.origin };
}

function fill(graph: Graph, { tensors, linearInOut }: Named, arch: string, where: string, raw: Tensors): void {
  const missing: string[] = [];
  const wrong: string[] = [];
  const used = new Set<string>();
  for (const node of graph.nodes) {
    for (const [key, shape, target] of expected(node)) {
      const name = `${node.name}.${key}`;
      const t = tensors.get(name);
      if (!t) {
        missing.push(`${name} ${shapeText(shape)}`);
        continue;
      }
      used.add(name);
      // Paddle's Linear weight is [in, out]: read it as stored, compare transposed.
      const inOut = linearInOut && node.op === 'Linear' && key === 'weight';
      const stored = inOut ? [shape[1], shape[0]] : shape;
      if (t.shape.length !== stored.length || t.shape.some((d, i) => d !== stored[i])) wrong.push(`${name}: ${shapeText(t.shape)} in the file, ${shapeText(stored)} in ${arch}${inOut ? ' (stored [in, out])' : ''}`);
      else target!.set(inOut ? transpose2d(t.data, stored[0], stored[1]) : t.data);
    }
    // A conv without bias in the architecture that the file gives one: unexpected, listed below.
  }
  const unexpected = [...tensors.keys()].filter((k) => !used.has(k)).map((k) => `${k} ${shapeText(tensors.get(k)!.shape)}`);
  if (missing.length || wrong.length || unexpected.length) {
    const list = (what: string, names: string[]) => (names.length ? `\n  ${what} (${names.length}): ${names.slice(0, 8).join('; ')}${names.length > 8 ? `; ... ${names.length - 8} more` : ''}` : '');
    fail('BAD_MODEL', `${where} does not fit ${arch}:${list('missing', missing)}${list('wrongly shaped', wrong)}${list('unexpected', unexpected)}\n  ${suggestion(raw)}`);
  }
}

/** Which architecture family the file's own names look like. */
function suggestion(tensors: Tensors): string {
  const names = [...tensors.keys()].map((n) => n.replace(/^module\./, ''));
  const has = (re: RegExp) => names.some((n) => re.test(n));
  if (has(/^conv_stem\./) && has(/^blocks\.\d+\.\d+\.se\./)) return 'the names look like a timm EfficientNet (efficientnet_b0)';
  if (has(/^conv_stem\./)) return 'the names look like a timm MobileNetV2 (mobilenet_v2)';
  if (has(/^features\.denseblock/)) return 'the names look like a torchvision DenseNet (densenet121)';
  if (has(/^layer\d\.\d+\.conv3/)) return 'the names look like a torchvision ResNet with bottlenecks (resnet50, resnet101, resnet152, resnext50_32x4d)';
  if (has(/^layer\d\.\d+\.conv2/)) return 'the names look like a torchvision ResNet with basic blocks (resnet18, resnet34)';
  if (has(/^features\.\d+\.\d+\.block\./)) return 'the names look like a torchvision EfficientNet (efficientnet_b0)';
  if (has(/^features\.\d+\.block\./)) return 'the names look like a torchvision MobileNetV3 (mobilenet_v3_small)';
  if (has(/^features\.\d+\.conv\./)) return 'the names look like a torchvision MobileNetV2 (mobilenet_v2)';
  if (has(/^features\.\d+\.weight$/) && has(/^classifier\.6\./)) return 'the names look like a torchvision VGG (vgg11 ... vgg19, *_bn)';
  return `its first names: ${names.slice(0, 4).join(', ')}`;
}
