/**
 * Parameter names of other libraries mapped onto torchvision's, which the builders use as node names.
 * - timm: ResNet/ResNeXt use torchvision's names already; its MobileNetV2 and EfficientNet (`conv_stem`,
 *   `blocks.S.B.conv_pw`, `conv_head`, `classifier`) are renamed block by block.
 * - paddle.vision.models (>= 2.3): torchvision's module names, BatchNorm's `_mean` and `_variance`,
 *   and Linear weights stored [in, out].
 */
import type { Tensors } from './tensors.js';

export type Origin = 'torchvision' | 'timm' | 'paddle';

export interface Named {
  tensors: Tensors;
  origin: Origin;
  /** Linear weights are stored [in, out] (Paddle) and must be transposed. */
  linearInOut: boolean;
}

/** Prefixes that wrappers add to every name (DataParallel's `module.`). */
function stripped(tensors: Tensors): Tensors {
  const names = [...tensors.keys()];
  if (names.length > 0 && names.every((k) => k.startsWith('module.'))) return new Map([...tensors].map(([k, v]) => [k.replace(/^module\./, ''), v]));
  return tensors;
}

export function torchvisionNames(arch: string, raw: Tensors): Named {
  const tensors = stripped(raw);
  const names = [...tensors.keys()];
  if (names.some((n) => /\._(mean|variance)$/.test(n))) {
    return { tensors: renamed(tensors, (n) => n.replace(/\._mean$/, '.running_mean').replace(/\._variance$/, '.running_var')), origin: 'paddle', linearInOut: true };
  }
  if (names.some((n) => n.startsWith('conv_stem.')) && (arch === 'mobilenet_v2' || arch === 'efficientnet_b0')) {
    return { tensors: renamed(tensors, timmEfficientNetFamily(arch, names)), origin: 'timm', linearInOut: false };
  }
  return { tensors, origin: 'torchvision', linearInOut: false };
}

function renamed(tensors: Tensors, rename: (name: string) => string): Tensors {
  return new Map([...tensors].map(([k, v]) => [rename(k), v]));
}

/** Within a block: timm's module -> torchvision's, for depthwise-separable (no conv_pwl) and inverted-residual blocks. */
const BLOCK: Record<'mobilenet_v2' | 'efficientnet_b0', Record<'ds' | 'ir', Record<string, string>>> = {
  mobilenet_v2: {
    ds: { conv_dw: 'conv.0.0', bn1: 'conv.0.1', conv_pw: 'conv.1', bn2: 'conv.2' },
    ir: { conv_pw: 'conv.0.0', bn1: 'conv.0.1', conv_dw: 'conv.1.0', bn2: 'conv.1.1', conv_pwl: 'conv.2', bn3: 'conv.3' },
  },
  efficientnet_b0: {
    ds: { conv_dw: 'block.0.0', bn1: 'block.0.1', 'se.conv_reduce': 'block.1.fc1', 'se.conv_expand': 'block.1.fc2', conv_pw: 'block.2.0', bn2: 'block.2.1' },
    ir: { conv_pw: 'block.0.0', bn1: 'block.0.1', conv_dw: 'block.1.0', bn2: 'block.1.1', 'se.conv_reduce': 'block.2.fc1', 'se.conv_expand': 'block.2.fc2', conv_pwl: 'block.3.0', bn3: 'block.3.1' },
  },
};

/**
 * timm's EfficientNet builder (mobilenetv2_*, efficientnet_b0): blocks.S.B is torchvision's
 * features.K (MobileNetV2, blocks numbered through) or features.(S+1).B (EfficientNet); the stem is
 * features.0, the head conv features.(last), the classifier classifier.1. Names it does not know are
 * left as they are, so the mismatch error lists them.
 */
function timmEfficientNetFamily(arch: 'mobilenet_v2' | 'efficientnet_b0', names: string[]): (name: string) => string {
  const blocks = [...new Set(names.map((n) => /^blocks\.(\d+)\.(\d+)\./.exec(n)?.slice(1, 3).join('.')).filter((b): b is string => !!b))].sort((a, b) => {
    const [sa, ba] = a.split('.').map(Number);
    const [sb, bb] = b.split('.').map(Number);
    return sa - sb || ba - bb;
  });
  const stages = new Set(blocks.map((b) => b.split('.')[0])).size;
  const head = arch === 'mobilenet_v2' ? blocks.length + 1 : stages + 1;
  const kind = (block: string) => (names.some((n) => n.startsWith(`blocks.${block}.conv_pwl.`)) ? 'ir' : 'ds');
  return (name) => {
    const top: Record<string, string> = { conv_stem: 'features.0.0', bn1: 'features.0.1', conv_head: `features.${head}.0`, bn2: `features.${head}.1`, classifier: 'classifier.1' };
    const t = /^(conv_stem|bn1|conv_head|bn2|classifier)\.(\w+)$/.exec(name);
    if (t) return `${top[t[1]]}.${t[2]}`;
    const m = /^blocks\.(\d+)\.(\d+)\.(.+)\.(\w+)$/.exec(name);
    if (!m) return name;
    const block = `${m[1]}.${m[2]}`;
    const inner = BLOCK[arch][kind(block)][m[3]];
    if (!inner) return name;
    const prefix = arch === 'mobilenet_v2' ? `features.${blocks.indexOf(block) + 1}` : `features.${Number(m[1]) + 1}.${m[2]}`;
    return `${prefix}.${inner}.${m[4]}`;
  };
}
