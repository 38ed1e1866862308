/** Messages between the demo page (app.ts) and its worker (worker.ts), which runs the engine. */
import type { ClassScore } from '../src/app/explain-photo.js';
import type { InputWindow } from '../src/image/preprocess.js';
import type { LayerRelevance } from '../src/propagation/types.js';
import type { ServedBytes } from '../src/io/registry/served-files.js';
import type { Metric } from '../src/evaluation/evaluate.js';

/** Where a model comes from: a known model the demo server holds, a URL, or files from the user's disk. */
export type ModelChoice =
  | { kind: 'served'; base: string; bytes?: ServedBytes }
  | { kind: 'url'; url: string; arch?: string }
  | { kind: 'files'; files: { name: string; bytes: Uint8Array }[]; arch?: string };

export type Request =
  | { type: 'load'; id: number; model: ModelChoice }
  /** With `method`, another explainer than LRP (one of DEMO_METHODS); without, LRP with `composite`. */
  | { type: 'explain'; id: number; image: { name: string; bytes: Uint8Array }; composite: string; method?: string; target?: number; topk: number }
  /** Scores each shown explanation (a composite's name, or one of DEMO_METHODS) by a metric's curve on the photo. */
  | { type: 'evaluate'; id: number; image: { name: string; bytes: Uint8Array }; shown: string[]; metric: Metric; steps: number; target?: number };

/** The evaluate panel's result: a row per explanation and the curves drawn as SVG (by Vega-Lite). */
export interface Evaluated {
  metric: Metric;
  rows: { method: string; aopc: number; auc: number; seconds: number }[];
  svg: string;
}

/**
 * The methods the page offers beside LRP, with parameters that keep one explanation of a 224 x 224
 * photo within seconds to a minute on a laptop (the library's defaults run 50 steps or samples, LIME
 * 1000 forwards): named in the picker.
 */
export const DEMO_METHODS: Readonly<Record<string, Readonly<Record<string, unknown>>>> = {
  gradient: {},
  'gradient-x-input': {},
  'integrated-gradients': { steps: 16 },
  smoothgrad: { samples: 16 },
  'grad-cam': {},
  occlusion: { window: 32 },
  lime: { samples: 200 },
};

import type { CompositeRules } from '../src/app/layer-rules.js';

export type { CompositeRules };

export interface ModelSummary {
  name: string;
  inputShape: readonly number[];
  numClasses: number;
  labelled: boolean;
  preprocessing: string;
  composites: CompositeRules[];
  /** The composite it is explained with unless another is picked (a transformer's: cp-lrp). */
  defaultComposite: string;
}

export interface Explained {
  source: string;
  /** The name of the model that explained it (the one in use when the worker took the request). */
  model: string;
  /** The composite's name, or the method's. */
  composite: string;
  /** How its map is drawn: signed, or one-sided (Grad-CAM). */
  shading: 'signed' | 'positive';
  top: ClassScore[];
  target: ClassScore;
  /** [3, H, W] ([1, H, W] for Grad-CAM) */
  relevance: Float32Array;
  /** [H, W] */
  map: Float32Array;
  photo: { width: number; height: number; data: Float32Array };
  prepared: { height: number; width: number; window: InputWindow };
  layers: LayerRelevance[];
  milliseconds: { preprocess: number; explain: number };
}

export type Reply =
  | { type: 'ready'; architectures: readonly string[]; composites: { name: string; description: string }[]; threads: number; threadNote: string | null; defaultComposite: string }
  | { type: 'progress'; id: number; stage: string; done?: number; total?: number }
  | { type: 'loaded'; id: number; model: ModelSummary }
  /** A served model's prepared form is in the worker's cache (caches.ts): the next visit reads it from there, online or not. */
  | { type: 'kept'; name: string }
  | { type: 'explained'; id: number; result: Explained }
  | { type: 'evaluated'; id: number; result: Evaluated }
  | { type: 'error'; id: number; message: string };
