import { GraphBuilder } from './layers.js';

/**
 * torchvision's VGG layout: 3x3 convs (pad 1, with bias) in five stages, each closed by a 2x2/2 max-pool,
 * then three fully connected layers. Node names follow torchvision's `features.i` / `classifier.i`.
 * Dropout is left out (it is the identity at inference).
 *
 * torchvision's AdaptiveAvgPool2d(7) before the classifier is the identity at 224x224; at other input
 * sizes we use an exact average pool when the feature map is a multiple of 7, and otherwise flatten the
 * feature map as it is (the classifier's input size follows).
 */
export const VGGS: Record<string, (number | 'M')[]> = {
  vgg11: [64, 'M', 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'],
  vgg13: [64, 64, 'M', 128, 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'],
  vgg16: [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512, 'M'],
  vgg19: [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 256, 'M', 512, 512, 512, 512, 'M', 512, 512, 512, 512, 'M'],
};

export function buildVgg(
  b: GraphBuilder,
  cfg: (number | 'M')[],
  batchNorm: boolean,
  input: string,
  inChannels: number,
  inputSize: number,
  width: number,
  hidden: number,
  numClasses: number,
): void {
  let x = input;
  let channels = inChannels;
  let size = inputSize;
  let i = 0;
  for (const v of cfg) {
    if (v === 'M') {
      x = b.maxPool(`features.${i++}`, x, 2, 2);
      size = Math.floor(size / 2);
      continue;
    }
    const out = Math.max(1, Math.round((v * width) / 64));
    x = b.conv(`features.${i++}`, x, channels, out, 3, { pad: 1, bias: true });
    if (batchNorm) x = b.batchNorm(`features.${i++}`, x, out);
    x = b.relu(`features.${i++}`, x);
    channels = out;
  }
  if (size > 7 && size % 7 === 0) {
    x = b.avgPool('avgpool', x, size / 7, size / 7);
    size = 7;
  }
  x = b.flatten('flatten', x);
  x = b.relu('classifier.1', b.linear('classifier.0', x, channels * size * size, hidden));
  x = b.relu('classifier.4', b.linear('classifier.3', x, hidden, hidden));
  b.linear('classifier.6', x, hidden, numClasses);
}
