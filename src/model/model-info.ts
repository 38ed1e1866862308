/** What is known of a model beside its graph: names, labels, its input's range and preprocessing. */
import type { BoundSpec } from '../rules/types.js';
import type { Preprocessing } from './preprocessing.js';

export interface ModelInfo {
  name?: string;
  arch?: string;
  /** Whose layout the weights came in (torchvision, timm, paddle), for state dicts. */
  origin?: string;
  /** Class names, index by class. */
  labels?: readonly string[];
  /** Range of preprocessed inputs (z-box's default bounds): numbers or one value per channel. */
  inputRange?: { low: BoundSpec; high: BoundSpec };
  /** How a photo becomes this model's input. */
  preprocessing?: Preprocessing;
  /** Set when relprop guessed the preprocessing: on what (the file did not say, the graph's scaling ...). */
  preprocessingGuess?: string;
  /** The prepared form (relprop's own format, in the cache) the model was read from or saved to. */
  prepared?: string;
}
