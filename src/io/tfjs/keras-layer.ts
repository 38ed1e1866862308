/**
 * One Keras layer as its converter (keras-layers.ts) sees it: its config, its weights, and the helpers
 * that read them and emit relprop's nodes.
 */
import { fail } from '../../errors.js';
import type { GraphNode, Pads, Pair } from '../../graph/nodes.js';
import type { Emitter } from '../emitter.js';
import { samePads } from '../padding.js';

/**
 * Keras activation names (and TF.js's own spellings) as graph nodes; each TF.js definition: hard_sigmoid
 * is TF.js's clip(0.2 x + 0.5, 0, 1), swish x * sigmoid(x).
 */
const ACTIVATIONS: Record<string, (name: string, x: string) => GraphNode> = {
  relu: (name, x) => ({ op: 'ReLU', name, inputs: [x] }),
  relu6: (name, x) => ({ op: 'Clip', name, inputs: [x], min: 0, max: 6 }),
  sigmoid: (name, x) => ({ op: 'Sigmoid', name, inputs: [x] }),
  hard_sigmoid: (name, x) => ({ op: 'HardSigmoid', name, inputs: [x], alpha: 0.2, beta: 0.5 }),
  hardSigmoid: (name, x) => ({ op: 'HardSigmoid', name, inputs: [x], alpha: 0.2, beta: 0.5 }),
  swish: (name, x) => ({ op: 'SiLU', name, inputs: [x] }),
  silu: (name, x) => ({ op: 'SiLU', name, inputs: [x] }),
  tanh: (name, x) => ({ op: 'Tanh', name, inputs: [x] }),
  softmax: (name, x) => ({ op: 'Softmax', name, inputs: [x] }),
};

export interface LayerJson {
  class_name: string;
  name?: string;
  config: Record<string, unknown> & { name?: string };
  inbound_nodes?: unknown[];
}

function pairOf(v: unknown, where: string, what: string): Pair {
  if (typeof v === 'number') return [v, v];
  if (Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === 'number')) return [v[0], v[1]];
  return fail('BAD_MODEL', `${where}: ${what} ${JSON.stringify(v)} is not a pair of integers`);
}

export type Weights = Map<string, { shape: number[]; data: Float32Array }>;

/** What every layer's conversion shares: the graph built so far and the weights not yet taken. */
export interface Reading {
  readonly emitter: Emitter;
  readonly weights: Weights;
  /** Graph values that are flattened NCHW maps: [C, H, W] before the Flatten (for Dense row order). */
  readonly flattenedFrom: Map<string, [number, number, number]>;
  inputHWC: [number, number, number] | null;
}

/** One Keras layer as its converter sees it: its config, the values it reads and the helpers that read them. */
export class KerasLayer {
  readonly where: string;

  constructor(
    readonly name: string,
    readonly className: string,
    readonly c: LayerJson['config'],
    /** The graph values of its inputs. */
    readonly src: string[],
    readonly r: Reading,
  ) {
    this.where = `Keras layer "${name}" (${className})`;
  }

  emit(node: GraphNode): string {
    return this.r.emitter.add(node);
  }

  one(): string {
    if (this.src.length !== 1) fail('BAD_MODEL', `${this.where} needs one input, has ${this.src.length}`);
    return this.src[0];
  }

  shape(x = this.one()) {
    return this.r.emitter.shape(x);
  }

  mapShape(): [number, number, number] {
    const s = this.shape();
    if (s.length !== 3) fail('BAD_MODEL', `${this.where} needs a feature map, got [${s}]`);
    return [s[0], s[1], s[2]];
  }

  /** A weight of this layer (taken out of the map: a kernel's NHWC original can be collected once converted). */
  param(key: string, shape: number[] | null, optional = false): Float32Array | null {
    const { weights } = this.r;
    const layer = this.name;
    let w = weights.get(`${layer}/${key}`);
    if (!w) {
      // Some converters prefix scopes ("model/conv1/kernel") or suffix ":0".
      for (const [name, t] of weights) if (name.replace(/:0$/, '').endsWith(`/${layer}/${key}`) || name === `${layer}/${key}:0`) w = t;
    }
    if (!w) {
      if (optional) return null;
      fail('BAD_MODEL', `Keras layer "${layer}": weight "${layer}/${key}" is missing from the weight manifest`);
    }
    if (shape && (w.shape.length !== shape.length || w.shape.some((d, i) => d !== shape[i]))) {
      fail('BAD_MODEL', `Keras layer "${layer}": weight "${key}" has shape [${w.shape}], expected [${shape}]`);
    }
    for (const [name, t] of weights) if (t === w) weights.delete(name);
    return w.data;
  }

  /** The layer's activation; an Activation layer's node keeps the layer's name (overrides use it). */
  activation(x: string, act: unknown, own = false): string {
    if (act === undefined || act === null || act === 'linear') return x;
    const make = typeof act === 'string' && Object.hasOwn(ACTIVATIONS, act) ? ACTIVATIONS[act] : undefined;
    if (!make) return fail('UNSUPPORTED', `${this.where}: activation "${String(act)}"; relprop supports linear, ${Object.keys(ACTIVATIONS).join(', ')} (softmax only last)`);
    return this.emit(make(own ? this.name : `${this.name}/${act}`, x));
  }

  pair(key: string, fallback?: unknown): Pair {
    return pairOf(this.c[key] ?? fallback, this.where, key);
  }

  /** A 2-D window's padding: Keras's 'same' (TF's SAME_UPPER) or 'valid'. */
  windowPads(h: number, w: number, kernel: Pair, stride: Pair, dilation: Pair): Pads {
    if (this.c.padding === 'same') return samePads('SAME_UPPER', [h, w], kernel, stride, dilation);
    if (this.c.padding !== undefined && this.c.padding !== 'valid') fail('UNSUPPORTED', `${this.where}: padding "${String(this.c.padding)}"`);
    return [0, 0, 0, 0];
  }
}
