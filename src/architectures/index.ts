import { fail } from '../errors.js';
import { checkOptions } from '../options.js';
import { Graph } from '../graph/graph.js';
import { Model } from '../model/model.js';
import { Random } from './random.js';
import { GraphBuilder } from './layers.js';
import { buildKerasResNet50, buildResNet, RESNETS } from './resnet.js';
import { buildVgg, VGGS } from './vgg.js';
import { buildDenseNet121 } from './densenet.js';
import { buildEfficientNetB0, buildMobileNetV2, buildMobileNetV3Small } from './mobilenet.js';
import { buildKerasMobileNet, buildKerasMobileNetV2 } from './keras-mobilenet.js';

export interface BuildOptions {
  /** Seed of the random weights and BatchNorm statistics (default 0). */
  seed?: number;
  /** Height and width of the square input (default 224). */
  inputSize?: number;
  /** Input channels (default 3). */
  inChannels?: number;
  numClasses?: number;
  /**
   * Channels of the stem (ResNets, VGGs, DenseNet: 64; MobileNetV2, EfficientNet: 32; MobileNetV3: 16,
   * the published models'); the other layers scale with it. Smaller values make fast test models.
   */
  width?: number;
  /** VGG: width of the two hidden fully connected layers (default 4096). */
  hidden?: number;
  /** All biases and BatchNorm shifts/means zero, so LRP's conservation can be checked exactly. */
  zeroBias?: boolean;
  /** Threads the model runs on unless a call says (see ModelOptions). */
  threads?: number;
}

const BUILD_OPTIONS = ['seed', 'inputSize', 'inChannels', 'numClasses', 'width', 'hidden', 'zeroBias', 'threads'] as const satisfies readonly (keyof BuildOptions)[];

/** The architectures whose stem is not 64 channels wide, with theirs. */
const STEM_WIDTH: Record<string, number> = { mobilenet_v2: 32, mobilenet_v3_small: 16, efficientnet_b0: 32, 'keras-mobilenet': 32, 'keras-mobilenet-v2': 32 };
const OTHERS: Record<string, (b: GraphBuilder, input: string, inChannels: number, width: number, numClasses: number) => void> = {
  mobilenet_v2: buildMobileNetV2,
  mobilenet_v3_small: buildMobileNetV3Small,
  efficientnet_b0: buildEfficientNetB0,
  densenet121: buildDenseNet121,
  'keras-mobilenet': buildKerasMobileNet,
  'keras-mobilenet-v2': buildKerasMobileNetV2,
};

export const ARCHITECTURES = [
  ...Object.keys(RESNETS),
  ...Object.keys(OTHERS),
  'keras-resnet50',
  ...Object.keys(VGGS).flatMap((v) => [v, `${v}_bn`]),
] as const;

/** A model with seeded random weights, in the layout and module names of torchvision (or Keras for keras-resnet50). */
export function buildModel(arch: string, options: BuildOptions = {}): Model {
  checkOptions(options, BUILD_OPTIONS, 'buildModel');
  const name = arch.toLowerCase();
  const { seed = 0, inputSize = 224, inChannels = 3, numClasses = 1000, width = STEM_WIDTH[name] ?? 64, hidden = 4096, zeroBias = false } = options;
  const positive = { inputSize, inChannels, numClasses, width, hidden };
  for (const [key, v] of Object.entries(positive)) {
    if (!Number.isInteger(v) || v < 1) fail('BAD_OPTION', `buildModel: ${key} must be a positive integer, got ${v}`);
  }
  const b = new GraphBuilder(new Random(seed), { zeroBias });
  const input = 'input';
  if (name in OTHERS) OTHERS[name](b, input, inChannels, width, numClasses);
  else if (name in RESNETS) buildResNet(b, RESNETS[name], input, inChannels, width, numClasses);
  else if (name === 'keras-resnet50') buildKerasResNet50(b, input, inChannels, width, numClasses);
  else if (name.replace(/_bn$/, '') in VGGS) buildVgg(b, VGGS[name.replace(/_bn$/, '')], name.endsWith('_bn'), input, inChannels, inputSize, width, hidden, numClasses);
  else fail('UNKNOWN_ARCH', `unknown architecture "${arch}"; known: ${ARCHITECTURES.join(', ')}`);
  return new Model(new Graph({ name: input, shape: [inChannels, inputSize, inputSize] }, b.nodes), { name: `${name} (random, seed ${seed})`, arch: name }, { threads: options.threads });
}
