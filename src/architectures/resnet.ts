import { GraphBuilder } from './layers.js';

/**
 * torchvision's ResNet layout (and ResNeXt's, with grouped 3x3 convs): 7x7/2 stem, 3x3/2 max-pool, four stages, global average pool, fc.
 * Bottlenecks put the stride in their 3x3 conv (torchvision's "ResNet v1.5"); convs have no bias,
 * each is followed by BatchNorm. Node names follow torchvision's module names.
 */
export interface ResNetSpec {
  block: 'basic' | 'bottleneck';
  layers: [number, number, number, number];
  /** ResNeXt: the 3x3 conv of each bottleneck in `groups` groups of `widthPerGroup` x planes / 64 channels. */
  groups?: number;
  widthPerGroup?: number;
}

export const RESNETS: Record<string, ResNetSpec> = {
  resnet18: { block: 'basic', layers: [2, 2, 2, 2] },
  resnet34: { block: 'basic', layers: [3, 4, 6, 3] },
  resnet50: { block: 'bottleneck', layers: [3, 4, 6, 3] },
  resnet101: { block: 'bottleneck', layers: [3, 4, 23, 3] },
  resnet152: { block: 'bottleneck', layers: [3, 8, 36, 3] },
  resnext50_32x4d: { block: 'bottleneck', layers: [3, 4, 6, 3], groups: 32, widthPerGroup: 4 },
};

export function buildResNet(b: GraphBuilder, spec: ResNetSpec, input: string, inChannels: number, width: number, numClasses: number): void {
  const expansion = spec.block === 'bottleneck' ? 4 : 1;
  let x = b.conv('conv1', input, inChannels, width, 7, { stride: 2, pad: 3 });
  x = b.batchNorm('bn1', x, width);
  x = b.relu('relu', x);
  x = b.maxPool('maxpool', x, 3, 2, 1);
  let channels = width;
  spec.layers.forEach((count, stage) => {
    const planes = width * 2 ** stage;
    for (let i = 0; i < count; i++) {
      const stride = i === 0 && stage > 0 ? 2 : 1;
      const p = `layer${stage + 1}.${i}`;
      const identity = x;
      let y: string;
      if (spec.block === 'basic') {
        y = b.relu(`${p}.relu1`, b.batchNorm(`${p}.bn1`, b.conv(`${p}.conv1`, x, channels, planes, 3, { stride, pad: 1 }), planes));
        y = b.batchNorm(`${p}.bn2`, b.conv(`${p}.conv2`, y, planes, planes, 3, { pad: 1 }), planes);
      } else {
        // torchvision: width = int(planes * base_width / 64) * groups (= planes for plain ResNets).
        const groups = spec.groups ?? 1;
        const mid = Math.max(1, Math.floor((planes * (spec.widthPerGroup ?? 64)) / 64)) * groups;
        y = b.relu(`${p}.relu1`, b.batchNorm(`${p}.bn1`, b.conv(`${p}.conv1`, x, channels, mid, 1), mid));
        y = b.relu(`${p}.relu2`, b.batchNorm(`${p}.bn2`, b.conv(`${p}.conv2`, y, mid, mid, 3, { stride, pad: 1, groups }), mid));
        y = b.batchNorm(`${p}.bn3`, b.conv(`${p}.conv3`, y, mid, planes * expansion, 1), planes * expansion);
      }
      let shortcut = identity;
      if (stride !== 1 || channels !== planes * expansion) {
        shortcut = b.batchNorm(`${p}.downsample.1`, b.conv(`${p}.downsample.0`, x, channels, planes * expansion, 1, { stride }), planes * expansion);
      }
      x = b.relu(`${p}.relu`, b.sum(`${p}.add`, y, shortcut));
      channels = planes * expansion;
    }
  });
  x = b.flatten('flatten', b.globalAvgPool('avgpool', x));
  b.linear('fc', x, channels, numClasses);
}

/**
 * The Keras applications ResNet50 layout: explicit ZeroPadding before the 7x7/2 stem conv and before the
 * 3x3/2 max-pool, convs with biases, the stride in the first 1x1 conv of a block (ResNet v1), a 1x1
 * projection shortcut on the first block of every stage, softmax on the classifier. Names follow Keras.
 */
export function buildKerasResNet50(b: GraphBuilder, input: string, inChannels: number, width: number, numClasses: number): void {
  const bn = (name: string, x: string, c: number) => b.batchNorm(name, x, c, 1.001e-5);
  let x = b.pad('conv1_pad', input, 3);
  x = b.conv('conv1_conv', x, inChannels, width, 7, { stride: 2, bias: true });
  x = b.relu('conv1_relu', bn('conv1_bn', x, width));
  x = b.maxPool('pool1_pool', b.pad('pool1_pad', x, 1), 3, 2);
  let channels = width;
  [3, 4, 6, 3].forEach((count, stage) => {
    const filters = width * 2 ** stage;
    for (let i = 0; i < count; i++) {
      const p = `conv${stage + 2}_block${i + 1}`;
      const stride = i === 0 && stage > 0 ? 2 : 1;
      let shortcut = x;
      if (i === 0) shortcut = bn(`${p}_0_bn`, b.conv(`${p}_0_conv`, x, channels, 4 * filters, 1, { stride, bias: true }), 4 * filters);
      let y = b.relu(`${p}_1_relu`, bn(`${p}_1_bn`, b.conv(`${p}_1_conv`, x, channels, filters, 1, { stride, bias: true }), filters));
      y = b.relu(`${p}_2_relu`, bn(`${p}_2_bn`, b.conv(`${p}_2_conv`, y, filters, filters, 3, { pad: 1, bias: true }), filters));
      y = bn(`${p}_3_bn`, b.conv(`${p}_3_conv`, y, filters, 4 * filters, 1, { bias: true }), 4 * filters);
      x = b.relu(`${p}_out`, b.sum(`${p}_add`, shortcut, y));
      channels = 4 * filters;
    }
  });
  x = b.flatten('flatten', b.globalAvgPool('avg_pool', x));
  const logits = b.linear('predictions', x, channels, numClasses);
  b.nodes.push({ op: 'Softmax', name: 'predictions_softmax', inputs: [logits] });
}
