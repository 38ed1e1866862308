import type { GraphBuilder } from './layers.js';
import { makeDivisible } from './mobilenet.js';

const bn = (b: GraphBuilder, name: string, x: string, c: number) => b.batchNorm(name, x, c, 1e-3);
const relu6 = (b: GraphBuilder, name: string, x: string) => b.activation(name, x, 'relu6');

/**
 * Keras applications' MobileNet (v1): ZeroPadding before every stride-2 conv, 13 depthwise-separable
 * blocks (depthwise 3x3, pointwise 1x1, BatchNorm and ReLU6 after each), global average pool, a 1x1
 * conv classifier with bias, softmax. Names follow Keras. `width` is the stem's channels (32: alpha 1).
 */
export function buildKerasMobileNet(b: GraphBuilder, input: string, inChannels: number, width: number, numClasses: number): void {
  const alpha = width / 32;
  const blocks: [number, number][] = [[64, 1], [128, 2], [128, 1], [256, 2], [256, 1], [512, 2], [512, 1], [512, 1], [512, 1], [512, 1], [512, 1], [1024, 2], [1024, 1]];
  let channels = Math.floor(32 * alpha);
  let x = b.conv('conv1', b.pad('conv1_pad', input, [0, 0, 1, 1]), inChannels, channels, 3, { stride: 2 });
  x = relu6(b, 'conv1_relu', bn(b, 'conv1_bn', x, channels));
  blocks.forEach(([filters, stride], i) => {
    const id = i + 1;
    const out = Math.floor(filters * alpha);
    if (stride === 2) x = b.pad(`conv_pad_${id}`, x, [0, 0, 1, 1]);
    x = b.conv(`conv_dw_${id}`, x, channels, channels, 3, { stride, pad: stride === 1 ? 1 : 0, groups: channels });
    x = relu6(b, `conv_dw_${id}_relu`, bn(b, `conv_dw_${id}_bn`, x, channels));
    x = relu6(b, `conv_pw_${id}_relu`, bn(b, `conv_pw_${id}_bn`, b.conv(`conv_pw_${id}`, x, channels, out, 1), out));
    channels = out;
  });
  x = b.globalAvgPool('global_average_pooling2d', x);
  x = b.flatten('reshape_2', b.conv('conv_preds', x, channels, numClasses, 1, { bias: true }));
  b.nodes.push({ op: 'Softmax', name: 'predictions', inputs: [x] });
}

/**
 * Keras applications' MobileNetV2: as torchvision's (the same blocks and widths) with Keras's names,
 * zero padding ((0, 1), (0, 1)) before each stride-2 depthwise conv, BatchNorm epsilon 1e-3, a Dense
 * softmax head. `width` is the stem's channels (32: alpha 1).
 */
export function buildKerasMobileNetV2(b: GraphBuilder, input: string, inChannels: number, width: number, numClasses: number): void {
  const alpha = width / 32;
  // filters, stride, expansion, per block (Keras's _inverted_res_block calls)
  const blocks: [number, number, number][] = [
    [16, 1, 1], [24, 2, 6], [24, 1, 6], [32, 2, 6], [32, 1, 6], [32, 1, 6], [64, 2, 6], [64, 1, 6], [64, 1, 6], [64, 1, 6],
    [96, 1, 6], [96, 1, 6], [96, 1, 6], [160, 2, 6], [160, 1, 6], [160, 1, 6], [320, 1, 6],
  ];
  let channels = makeDivisible(32 * alpha);
  let x = b.conv('Conv1', input, inChannels, channels, 3, { stride: 2, pad: [0, 0, 1, 1] });
  x = relu6(b, 'Conv1_relu', bn(b, 'bn_Conv1', x, channels));
  blocks.forEach(([filters, stride, expansion], id) => {
    const p = id === 0 ? 'expanded_conv_' : `block_${id}_`;
    const out = makeDivisible(Math.floor(filters * alpha));
    const inputs = x;
    let y = x;
    let hidden = channels;
    if (id > 0) {
      hidden = expansion * channels;
      y = relu6(b, `${p}expand_relu`, bn(b, `${p}expand_BN`, b.conv(`${p}expand`, y, channels, hidden, 1), hidden));
    }
    if (stride === 2) y = b.pad(`${p}pad`, y, [0, 0, 1, 1]);
    y = b.conv(`${p}depthwise`, y, hidden, hidden, 3, { stride, pad: stride === 1 ? 1 : 0, groups: hidden });
    y = relu6(b, `${p}depthwise_relu`, bn(b, `${p}depthwise_BN`, y, hidden));
    y = bn(b, `${p}project_BN`, b.conv(`${p}project`, y, hidden, out, 1), out);
    x = channels === out && stride === 1 ? b.sum(`${p}add`, inputs, y) : y;
    channels = out;
  });
  const last = alpha > 1 ? makeDivisible(1280 * alpha) : 1280;
  x = relu6(b, 'out_relu', bn(b, 'Conv_1_bn', b.conv('Conv_1', x, channels, last, 1), last));
  x = b.flatten('flatten', b.globalAvgPool('global_average_pooling2d', x));
  const logits = b.linear('predictions', x, last, numClasses);
  b.nodes.push({ op: 'Softmax', name: 'predictions_softmax', inputs: [logits] });
}
