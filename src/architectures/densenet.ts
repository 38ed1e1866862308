import type { GraphBuilder } from './layers.js';

/**
 * torchvision's DenseNet-121: 7x7/2 stem, max-pool, four dense blocks (6, 12, 24, 16 layers of BN,
 * ReLU, 1x1 conv to 4 x growth, BN, ReLU, 3x3 conv to growth, concatenated to the block's input) with
 * transitions (BN, ReLU, 1x1 conv halving the channels, 2x2 average pool), a final BN and ReLU, global
 * average pool, Linear. Most BatchNorms read a concatenation: they stay standalone affine layers.
 * `width` is the stem's channels (64); the growth rate is half of it (32).
 */
export function buildDenseNet121(b: GraphBuilder, input: string, inChannels: number, width: number, numClasses: number): void {
  const growth = Math.max(1, width / 2);
  const bottleneck = 4 * growth;
  let x = b.relu('features.relu0', b.batchNorm('features.norm0', b.conv('features.conv0', input, inChannels, width, 7, { stride: 2, pad: 3 }), width));
  x = b.maxPool('features.pool0', x, 3, 2, 1);
  let channels = width;
  [6, 12, 24, 16].forEach((layers, block) => {
    const p = `features.denseblock${block + 1}`;
    for (let i = 0; i < layers; i++) {
      const l = `${p}.denselayer${i + 1}`;
      let y = b.conv(`${l}.conv1`, b.relu(`${l}.relu1`, b.batchNorm(`${l}.norm1`, x, channels)), channels, bottleneck, 1);
      y = b.conv(`${l}.conv2`, b.relu(`${l}.relu2`, b.batchNorm(`${l}.norm2`, y, bottleneck)), bottleneck, growth, 3, { pad: 1 });
      x = b.concat(`${l}.cat`, [x, y]);
      channels += growth;
    }
    if (block < 3) {
      const t = `features.transition${block + 1}`;
      const half = Math.floor(channels / 2);
      x = b.conv(`${t}.conv`, b.relu(`${t}.relu`, b.batchNorm(`${t}.norm`, x, channels)), channels, half, 1);
      x = b.avgPool(`${t}.pool`, x, 2, 2);
      channels = half;
    }
  });
  x = b.relu('features.relu5', b.batchNorm('features.norm5', x, channels));
  x = b.flatten('flatten', b.globalAvgPool('avgpool', x));
  b.linear('classifier', x, channels, numClasses);
}
