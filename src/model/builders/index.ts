import { fail } from '../../errors.js';
import { checkOptions } from '../../options.js';
import { Graph } from '../graph.js';
import { Model } from '../../model.js';
import { Random } from '../random.js';
import { GraphBuilder } from './layers.js';
import { buildKerasResNet50, buildResNet, RESNETS } from './resnet.js';
import { buildVgg, VGGS } from './vgg.js';

export interface BuildOptions {
  /** Seed of the random weights and BatchNorm statistics (default 0). */
  seed?: number;
  /** Height and width of the square input (default 224). */
  inputSize?: number;
  /** Input channels (default 3). */
  inChannels?: number;
  numClasses?: number;
  /** Channels of the first stage (default 64); smaller values make fast test models. */
  width?: number;
  /** VGG: width of the two hidden fully connected layers (default 4096). */
  hidden?: number;
  /** All biases and BatchNorm shifts/means zero, so LRP's conservation can be checked exactly. */
  zeroBias?: boolean;
}

const BUILD_OPTIONS = ['seed', 'inputSize', 'inChannels', 'numClasses', 'width', 'hidden', 'zeroBias'] as const satisfies readonly (keyof BuildOptions)[];

export const ARCHITECTURES = [
  ...Object.keys(RESNETS),
  'keras-resnet50',
  ...Object.keys(VGGS).flatMap((v) => [v, `${v}_bn`]),
] as const;

/** A ResNet or VGG with seeded random weights, in the layout of torchvision (or Keras for keras-resnet50). */
export function buildModel(arch: string, options: BuildOptions = {}): Model {
  checkOptions(options, BUILD_OPTIONS, 'buildModel');
  const { seed = 0, inputSize = 224, inChannels = 3, numClasses = 1000, width = 64, hidden = 4096, zeroBias = false } = options;
  const positive = { inputSize, inChannels, numClasses, width, hidden };
  for (const [key, v] of Object.entries(positive)) {
    if (!Number.isInteger(v) || v < 1) fail('BAD_OPTION', `buildModel: ${key} must be a positive integer, got ${v}`);
  }
  const b = new GraphBuilder(new Random(seed), { zeroBias });
  const input = 'input';
  const name = arch.toLowerCase();
  if (name in RESNETS) buildResNet(b, RESNETS[name], input, inChannels, width, numClasses);
  else if (name === 'keras-resnet50') buildKerasResNet50(b, input, inChannels, width, numClasses);
  else if (name.replace(/_bn$/, '') in VGGS) buildVgg(b, VGGS[name.replace(/_bn$/, '')], name.endsWith('_bn'), input, inChannels, inputSize, width, hidden, numClasses);
  else fail('UNKNOWN_ARCH', `unknown architecture "${arch}"; known: ${ARCHITECTURES.join(', ')}`);
  return new Model(new Graph({ name: input, shape: [inChannels, inputSize, inputSize] }, b.nodes), { name: `${name} (random, seed ${seed})`, arch: name });
}
