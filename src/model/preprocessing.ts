import { fail } from '../errors.js';

/**
 * How a photo becomes the model's input: resize (and crop), channel order, then
 * value = (pixel * scale - mean[c]) / std[c] for 0..255 pixels, channel c in the network's order.
 */
export interface Preprocessing {
  /** A preset's name (see PREPROCESSING) or one of the user's. */
  name: string;
  /** 'stretch': resize to size; 'center-crop': resize the shorter side to resizeShorter, crop size. */
  resize: 'stretch' | 'center-crop';
  /** [height, width] of the network input. */
  size: [number, number];
  resizeShorter?: number;
  channelOrder: 'RGB' | 'BGR';
  scale: number;
  mean: [number, number, number];
  std: [number, number, number];
}

const imagenet = (name: string): Preprocessing => ({
  name,
  resize: 'center-crop',
  size: [224, 224],
  resizeShorter: 256,
  channelOrder: 'RGB',
  scale: 1 / 255,
  mean: [0.485, 0.456, 0.406],
  std: [0.229, 0.224, 0.225],
});

/** The presets, by the library whose models expect them. */
export const PREPROCESSING: Readonly<Record<string, Preprocessing>> = {
  /** torchvision's ImageNet transform: resize 256, center crop 224, [0, 1], mean/std normalised. */
  torchvision: imagenet('torchvision'),
  /** timm's default for these architectures (crop_pct 0.875, ImageNet mean/std): torchvision's numbers. */
  timm: imagenet('timm'),
  /** paddle.vision's ImageNet transform (Resize 256, CenterCrop 224, Normalize): torchvision's numbers. */
  paddle: imagenet('paddle'),
  /** Keras applications' "caffe" mode (ResNet50, VGG): BGR, ImageNet means subtracted, no scaling. */
  caffe: { name: 'caffe', resize: 'stretch', size: [224, 224], channelOrder: 'BGR', scale: 1, mean: [103.939, 116.779, 123.68], std: [1, 1, 1] },
  /** Keras applications' "tf" mode (MobileNet, MobileNetV2) and TF.js/TF Hub MobileNets: [-1, 1]. */
  'keras-tf': { name: 'keras-tf', resize: 'stretch', size: [224, 224], channelOrder: 'RGB', scale: 1 / 127.5, mean: [1, 1, 1], std: [1, 1, 1] },
  /** Pixels scaled to [0, 1], nothing else (many TF Hub image models). */
  unit: { name: 'unit', resize: 'stretch', size: [224, 224], channelOrder: 'RGB', scale: 1 / 255, mean: [0, 0, 0], std: [1, 1, 1] },
  /** Pixels as they are, 0..255: for graphs that scale their own input. */
  raw: { name: 'raw', resize: 'stretch', size: [224, 224], channelOrder: 'RGB', scale: 1, mean: [0, 0, 0], std: [1, 1, 1] },
};

/** The preset a model made by `origin` (or a built architecture) expects, sized to its h x w input. */
export function defaultPreprocessing(origin: string, h: number, w: number): Preprocessing {
  const preset = PREPROCESSING[origin] ?? (origin === 'keras-mobilenet' || origin === 'keras-mobilenet-v2' ? PREPROCESSING['keras-tf'] : origin.startsWith('keras') ? PREPROCESSING.caffe : PREPROCESSING.torchvision);
  return preprocessingForSize(preset, h, w);
}

/** A preset by name, or the user's own preprocessing, checked. */
export function resolvePreprocessing(p: Preprocessing | string, where: string): Preprocessing {
  if (typeof p !== 'string') return checkPreprocessing(p, where);
  if (!Object.hasOwn(PREPROCESSING, p)) fail('BAD_OPTION', `${where}: no preprocessing preset "${p}"; presets: ${Object.keys(PREPROCESSING).join(', ')}`);
  return PREPROCESSING[p];
}

export function checkPreprocessing(p: Preprocessing, where: string): Preprocessing {
  const triple = (v: unknown) => Array.isArray(v) && v.length === 3 && v.every((x) => Number.isFinite(x));
  if (
    (p.resize !== 'stretch' && p.resize !== 'center-crop') ||
    !Array.isArray(p.size) ||
    p.size.length !== 2 ||
    !p.size.every((d) => Number.isInteger(d) && d > 0) ||
    (p.channelOrder !== 'RGB' && p.channelOrder !== 'BGR') ||
    !Number.isFinite(p.scale) ||
    !triple(p.mean) ||
    !triple(p.std) ||
    p.std.some((s) => s === 0)
  ) {
    fail('BAD_OPTION', `${where}: invalid preprocessing ${JSON.stringify(p)}`);
  }
  return p;
}

/**
 * The same preprocessing for a network input of h x w: the resize before a center crop keeps its ratio
 * to the crop (torchvision's 256 for 224).
 */
export function preprocessingForSize(p: Preprocessing, h: number, w: number): Preprocessing {
  if (p.size[0] === h && p.size[1] === w) return p;
  const resizeShorter = p.resizeShorter ? Math.round((p.resizeShorter * Math.min(h, w)) / Math.min(...p.size)) : undefined;
  return { ...p, size: [h, w], resizeShorter };
}

/** The range of preprocessed inputs, per channel: z-box's default bounds (a 1-channel input: the first's). */
export function inputRangeOf(p: Preprocessing, channels = 3): { low: number[]; high: number[] } {
  const mean = p.mean.slice(0, channels);
  return {
    low: mean.map((m, c) => (0 - m) / p.std[c]),
    high: mean.map((m, c) => (255 * p.scale - m) / p.std[c]),
  };
}
