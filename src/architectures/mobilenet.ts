import type { Activation, GraphBuilder } from './layers.js';

/** torchvision's _make_divisible: channels rounded to a multiple of 8, never more than 10% below v. */
export function makeDivisible(v: number, divisor = 8): number {
  const rounded = Math.max(divisor, Math.floor((v + divisor / 2) / divisor) * divisor);
  return rounded < 0.9 * v ? rounded + divisor : rounded;
}

/** torchvision's Conv2dNormActivation: conv (no bias), BatchNorm, activation; names prefix.0/1/2. */
export function convNormAct(b: GraphBuilder, prefix: string, x: string, cin: number, cout: number, k: number, opts: { stride?: number; groups?: number; act: Activation | null; eps?: number }): string {
  let y = b.batchNorm(`${prefix}.1`, b.conv(`${prefix}.0`, x, cin, cout, k, { stride: opts.stride, pad: (k - 1) / 2, groups: opts.groups }), cout, opts.eps);
  if (opts.act) y = b.activation(`${prefix}.2`, y, opts.act);
  return y;
}

/** torchvision's SqueezeExcitation: mean, 1x1 conv (bias), activation, 1x1 conv (bias), gate. */
export function squeezeExcitation(b: GraphBuilder, prefix: string, x: string, channels: number, squeeze: number, act: Activation, gate: Activation): string {
  let s = b.globalAvgPool(`${prefix}.avgpool`, x);
  s = b.activation(`${prefix}.activation`, b.conv(`${prefix}.fc1`, s, channels, squeeze, 1, { bias: true }), act);
  s = b.activation(`${prefix}.scale_activation`, b.conv(`${prefix}.fc2`, s, squeeze, channels, 1, { bias: true }), gate);
  return b.gate(`${prefix}.mul`, x, s);
}

/**
 * torchvision's MobileNetV2: a 3x3/2 stem, 17 inverted residuals (1x1 expansion, 3x3 depthwise, 1x1
 * projection, ReLU6), a 1x1 conv to 1280, global average pool, one Linear. `width` is the stem's
 * channels (32: width multiplier 1); every layer scales with it as torchvision's width_mult does.
 */
export function buildMobileNetV2(b: GraphBuilder, input: string, inChannels: number, width: number, numClasses: number): void {
  const mult = width / 32;
  const settings = [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1], [6, 160, 3, 2], [6, 320, 1, 1]];
  let channels = makeDivisible(32 * mult);
  const last = makeDivisible(1280 * Math.max(1, mult));
  let x = convNormAct(b, 'features.0', input, inChannels, channels, 3, { stride: 2, act: 'relu6' });
  let index = 1;
  for (const [t, c, n, s] of settings) {
    const out = makeDivisible(c * mult);
    for (let i = 0; i < n; i++) {
      const p = `features.${index++}.conv`;
      const stride = i === 0 ? s : 1;
      const hidden = Math.round(channels * t);
      let y = x;
      let layer = 0;
      if (t !== 1) y = convNormAct(b, `${p}.${layer++}`, y, channels, hidden, 1, { act: 'relu6' });
      y = convNormAct(b, `${p}.${layer++}`, y, hidden, hidden, 3, { stride, groups: hidden, act: 'relu6' });
      y = b.batchNorm(`${p}.${layer + 1}`, b.conv(`${p}.${layer}`, y, hidden, out, 1), out);
      x = stride === 1 && channels === out ? b.sum(`${p}.add`, x, y) : y;
      channels = out;
    }
  }
  x = convNormAct(b, `features.${index}`, x, channels, last, 1, { act: 'relu6' });
  x = b.flatten('flatten', b.globalAvgPool('avgpool', x));
  b.linear('classifier.1', x, last, numClasses);
}

/**
 * torchvision's MobileNetV3-Small: Hardswish stem, 11 inverted residuals with ReLU or Hardswish and
 * squeeze-and-excitation gates (Hardsigmoid), a 1x1 conv, then Linear 1024, Hardswish, Linear. `width`
 * is the stem's channels (16: width multiplier 1).
 */
export function buildMobileNetV3Small(b: GraphBuilder, input: string, inChannels: number, width: number, numClasses: number): void {
  const mult = width / 16;
  // input, kernel, expanded, output, SE, activation, stride (torchvision's _mobilenet_v3_conf)
  const settings: [number, number, number, number, boolean, Activation, number][] = [
    [16, 3, 16, 16, true, 'relu', 2], [16, 3, 72, 24, false, 'relu', 2], [24, 3, 88, 24, false, 'relu', 1],
    [24, 5, 96, 40, true, 'hardswish', 2], [40, 5, 240, 40, true, 'hardswish', 1], [40, 5, 240, 40, true, 'hardswish', 1],
    [40, 5, 120, 48, true, 'hardswish', 1], [48, 5, 144, 48, true, 'hardswish', 1], [48, 5, 288, 96, true, 'hardswish', 2],
    [96, 5, 576, 96, true, 'hardswish', 1], [96, 5, 576, 96, true, 'hardswish', 1],
  ];
  const adjust = (c: number) => makeDivisible(c * mult);
  const stem = adjust(16);
  let x = convNormAct(b, 'features.0', input, inChannels, stem, 3, { stride: 2, act: 'hardswish', eps: 1e-3 });
  let channels = stem;
  settings.forEach(([, k, expanded, output, se, act, stride], i) => {
    const p = `features.${i + 1}.block`;
    const [exp, out] = [adjust(expanded), adjust(output)];
    let y = x;
    let layer = 0;
    if (exp !== channels) y = convNormAct(b, `${p}.${layer++}`, y, channels, exp, 1, { act, eps: 1e-3 });
    y = convNormAct(b, `${p}.${layer++}`, y, exp, exp, k, { stride, groups: exp, act, eps: 1e-3 });
    if (se) y = squeezeExcitation(b, `${p}.${layer++}`, y, exp, makeDivisible(Math.floor(exp / 4)), 'relu', 'hardsigmoid');
    y = convNormAct(b, `${p}.${layer}`, y, exp, out, 1, { act: null, eps: 1e-3 });
    x = stride === 1 && channels === out ? b.sum(`features.${i + 1}.add`, x, y) : y;
    channels = out;
  });
  const lastConv = 6 * channels;
  x = convNormAct(b, `features.${settings.length + 1}`, x, channels, lastConv, 1, { act: 'hardswish', eps: 1e-3 });
  x = b.flatten('flatten', b.globalAvgPool('avgpool', x));
  const hidden = makeDivisible(1024 * mult);
  x = b.activation('classifier.1', b.linear('classifier.0', x, lastConv, hidden), 'hardswish');
  b.linear('classifier.3', x, hidden, numClasses);
}

/**
 * torchvision's EfficientNet-B0: SiLU stem, 16 MBConv blocks (expansion, depthwise 3x3 or 5x5, SE
 * gate with Sigmoid, projection) in 7 stages, a 1x1 conv to 1280, Linear. `width` is the stem's
 * channels (32: width multiplier 1).
 */
export function buildEfficientNetB0(b: GraphBuilder, input: string, inChannels: number, width: number, numClasses: number): void {
  const mult = width / 32;
  // expansion, kernel, stride, input, output, layers
  const stages = [[1, 3, 1, 32, 16, 1], [6, 3, 2, 16, 24, 2], [6, 5, 2, 24, 40, 2], [6, 3, 2, 40, 80, 3], [6, 5, 1, 80, 112, 3], [6, 5, 2, 112, 192, 4], [6, 3, 1, 192, 320, 1]];
  const adjust = (c: number) => makeDivisible(c * mult);
  let channels = adjust(32);
  let x = convNormAct(b, 'features.0', input, inChannels, channels, 3, { stride: 2, act: 'silu' });
  stages.forEach(([t, k, s, , c, n], stage) => {
    const out = adjust(c);
    for (let i = 0; i < n; i++) {
      const p = `features.${stage + 1}.${i}.block`;
      const stride = i === 0 ? s : 1;
      // torchvision: _make_divisible(input * expand_ratio), the width multiplier already in `channels`.
      const exp = makeDivisible(channels * t);
      let y = x;
      let layer = 0;
      if (exp !== channels) y = convNormAct(b, `${p}.${layer++}`, y, channels, exp, 1, { act: 'silu' });
      y = convNormAct(b, `${p}.${layer++}`, y, exp, exp, k, { stride, groups: exp, act: 'silu' });
      y = squeezeExcitation(b, `${p}.${layer++}`, y, exp, Math.max(1, Math.floor(channels / 4)), 'silu', 'sigmoid');
      y = convNormAct(b, `${p}.${layer}`, y, exp, out, 1, { act: null });
      x = stride === 1 && channels === out ? b.sum(`features.${stage + 1}.${i}.add`, x, y) : y;
      channels = out;
    }
  });
  const last = 4 * channels;
  x = convNormAct(b, 'features.8', x, channels, last, 1, { act: 'silu' });
  x = b.flatten('flatten', b.globalAvgPool('avgpool', x));
  b.linear('classifier.1', x, last, numClasses);
}
