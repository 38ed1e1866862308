/**
 * Keras / TF.js layers models (`model.json` + weight shards) to relprop's graph IR.
 *
 * Keras works channels-last (NHWC); relprop's graph is NCHW. Kernels are transposed on import
 * ([kh, kw, cin, cout] -> [cout, cin, kh, kw]; Dense [in, out] -> [out, in]) and a Dense layer that reads
 * a flattened feature map has its rows reordered from H, W, C to C, H, W order, so the imported graph
 * computes the same logits on the NCHW image. A softmax activation is split off into a final Softmax
 * node: explanations start at the logits.
 */
import { fail, RelpropError } from '../../errors.js';
import { Graph } from '../../graph/graph.js';
import type { GraphNode, Pads, Pair } from '../../graph/nodes.js';
import type { Shape } from '../../graph/shapes.js';
import { Emitter } from '../emitter.js';
import { convKernelFromHWIO, denseKernelFromInOut, depthwiseKernelFromHWCM } from '../nhwc.js';
import { samePads } from '../padding.js';
import type { WeightGroup } from './weights.js';

export const KERAS_LAYERS = [
  'InputLayer',
  'ZeroPadding2D',
  'Conv2D',
  'BatchNormalization',
  'Activation',
  'ReLU',
  'MaxPooling2D',
  'AveragePooling2D',
  'GlobalAveragePooling2D',
  'Flatten',
  'Dense',
  'Add',
  'Dropout',
  'DepthwiseConv2D',
  'SeparableConv2D',
  'LeakyReLU',
  'Concatenate',
  'Multiply',
  'Reshape',
] as const;

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
  softmax: (name, x) => ({ op: 'Softmax', name, inputs: [x] }),
};

interface LayerJson {
  class_name: string;
  name?: string;
  config: Record<string, unknown> & { name?: string };
  inbound_nodes?: unknown[];
}

export interface KerasModelJson {
  format?: string;
  modelTopology: unknown;
  weightsManifest: WeightGroup[];
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parses model.json text, refusing what is not a TF.js layers model. */
/** A TF.js model.json, layers or graph model, with its weights manifest checked. */
export function parseModelJson(text: string, where = 'model.json'): KerasModelJson {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return fail('BAD_MODEL', `${where}: not valid JSON (${(e as Error).message})`);
  }
  if (!isObject(json) || !isObject(json.modelTopology) || !Array.isArray(json.weightsManifest)) {
    fail('BAD_MODEL', `${where}: not a TF.js layers model (expected "modelTopology" and "weightsManifest")`);
  }
  if (json.format !== undefined && json.format !== 'layers-model' && json.format !== 'graph-model') {
    fail('UNSUPPORTED', `${where}: format "${String(json.format)}"; relprop reads TF.js layers models and graph models`);
  }
  for (const [i, g] of (json.weightsManifest as unknown[]).entries()) {
    if (!isObject(g) || !Array.isArray(g.paths) || !Array.isArray(g.weights) || !g.paths.every((p) => typeof p === 'string')) {
      fail('BAD_MODEL', `${where}: weightsManifest[${i}] needs "paths" and "weights"`);
    }
    for (const w of g.weights as unknown[]) {
      if (!isObject(w) || typeof w.name !== 'string' || !Array.isArray(w.shape) || typeof w.dtype !== 'string') {
        fail('BAD_MODEL', `${where}: weightsManifest[${i}] has a malformed weight entry`);
      }
    }
  }
  return json as unknown as KerasModelJson;
}

/**
 * Reads every weight group's shards and splits them into named float32 tensors. Declared sizes are
 * checked against the shards before anything is copied.
 */
function layersOf(topology: unknown): { layers: LayerJson[]; functional: boolean; outputs: string[] } {
  const t = isObject(topology) && isObject(topology.model_config) ? topology.model_config : topology;
  if (!isObject(t) || typeof t.class_name !== 'string') fail('BAD_MODEL', 'model.json: modelTopology has no model_config with a class_name');
  const config = t.config;
  if (t.class_name === 'Sequential') {
    const layers = Array.isArray(config) ? config : isObject(config) && Array.isArray(config.layers) ? config.layers : null;
    if (!layers) fail('BAD_MODEL', 'model.json: Sequential model without layers');
    return { layers: layers as LayerJson[], functional: false, outputs: [] };
  }
  if (t.class_name === 'Model' || t.class_name === 'Functional') {
    if (!isObject(config) || !Array.isArray(config.layers)) fail('BAD_MODEL', `model.json: ${t.class_name} without layers`);
    const outs = Array.isArray(config.output_layers) ? config.output_layers : [];
    if (outs.length !== 1 || !Array.isArray(outs[0]) || typeof outs[0][0] !== 'string') {
      fail('UNSUPPORTED', `model.json: the model has ${outs.length} outputs; relprop explains single-output classifiers`);
    }
    return { layers: config.layers as LayerJson[], functional: true, outputs: [outs[0][0] as string] };
  }
  return fail('UNSUPPORTED', `model.json: model class "${t.class_name}"; relprop reads Sequential and functional (Model) layers models`);
}

/** The names of the layers a functional-model layer reads (Keras 2 inbound_nodes format). */
function inboundOf(layer: LayerJson, where: string): string[] {
  const nodes = layer.inbound_nodes ?? [];
  if (nodes.length === 0) return [];
  if (nodes.length > 1) fail('UNSUPPORTED', `${where} is called ${nodes.length} times (a shared layer)`);
  const call = nodes[0];
  if (!Array.isArray(call)) fail('UNSUPPORTED', `${where}: inbound_nodes in a format relprop does not read (Keras 3?); re-save with Keras 2 / tf.keras`);
  return call.map((ref, i) => {
    if (!Array.isArray(ref) || typeof ref[0] !== 'string') fail('BAD_MODEL', `${where}: inbound node ${i} is malformed`);
    if (ref[1] !== 0 || ref[2] !== 0) fail('UNSUPPORTED', `${where} reads output ${ref[2]} of call ${ref[1]} of "${ref[0]}"`);
    return ref[0] as string;
  });
}

function pairOf(v: unknown, where: string, what: string): Pair {
  if (typeof v === 'number') return [v, v];
  if (Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === 'number')) return [v[0], v[1]];
  return fail('BAD_MODEL', `${where}: ${what} ${JSON.stringify(v)} is not a pair of integers`);
}

export interface KerasImport {
  graph: Graph;
  /** Keras input name and [H, W, C] as declared. */
  inputHWC: [number, number, number];
}

/** Maps a parsed model.json and its weights to a graph (NCHW). Takes the weights it uses out of the map. */
export function importKeras(json: KerasModelJson, weights: Map<string, { shape: number[]; data: Float32Array }>): KerasImport {
  const { layers, functional, outputs } = layersOf(json.modelTopology);
  const emitted = new Emitter('Keras model');
  const { nodes, shapes } = emitted;
  /** Keras layer name -> the graph value that holds its output. */
  const value = new Map<string, string>();
  /** Graph values that are flattened NCHW maps: [C, H, W] before the Flatten (for Dense row order). */
  const flattenedFrom = new Map<string, [number, number, number]>();
  let input: { name: string; shape: Shape } | null = null;
  let inputHWC: [number, number, number] = [0, 0, 0];
  let previous: string | null = null;

  const emit = (node: GraphNode) => emitted.add(node);
  const param = (layer: string, key: string, shape: number[] | null, optional = false): Float32Array | null => {
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
    // Taken out of the map: a kernel's NHWC original can be collected once it is converted.
    for (const [name, t] of weights) if (t === w) weights.delete(name);
    return w.data;
  };

  for (const [index, layer] of layers.entries()) {
    if (!isObject(layer) || typeof layer.class_name !== 'string' || !isObject(layer.config)) fail('BAD_MODEL', `model.json: layer #${index} is malformed`);
    const name = String(layer.name ?? layer.config.name ?? `layer_${index}`);
    const where = `Keras layer "${name}" (${layer.class_name})`;
    const c = layer.config;
    if (!functional && index === 0 && layer.class_name !== 'InputLayer') {
      // A Sequential model declares its input on the first layer.
      const shape = c.batch_input_shape as unknown;
      if (!Array.isArray(shape) || shape.length !== 4 || !shape.slice(1).every((d) => Number.isInteger(d) && d > 0)) {
        fail('UNSUPPORTED', `${where}: input shape ${JSON.stringify(shape)}; relprop needs a fixed [null, H, W, C] image input`);
      }
      inputHWC = [shape[1], shape[2], shape[3]];
      input = { name: `${name}_input`, shape: [shape[3], shape[1], shape[2]] };
      shapes.set(input.name, input.shape);
      value.set(input.name, input.name);
      previous = input.name;
    }
    if (c.data_format !== undefined && c.data_format !== 'channels_last') fail('UNSUPPORTED', `${where}: data_format "${String(c.data_format)}"; relprop reads channels_last Keras models`);
    let ins: string[];
    if (functional) ins = inboundOf(layer, where);
    else ins = previous === null ? [] : [previous];
    const src = ins.map((l) => {
      const v = value.get(l);
      if (v === undefined) fail('BAD_MODEL', `${where} reads "${l}", which is not an earlier layer`);
      return v;
    });
    const one = (): string => {
      if (src.length !== 1) fail('BAD_MODEL', `${where} needs one input, has ${src.length}`);
      return src[0];
    };
    const mapShape = (): [number, number, number] => {
      const s = shapes.get(one())!;
      if (s.length !== 3) fail('BAD_MODEL', `${where} needs a feature map, got [${s}]`);
      return [s[0], s[1], s[2]];
    };
    /** A layer's activation; an Activation layer's node keeps the layer's name (overrides use it). */
    const activation = (x: string, act: unknown, own = false): string => {
      if (act === undefined || act === null || act === 'linear') return x;
      const make = typeof act === 'string' ? ACTIVATIONS[act] : undefined;
      if (!make) return fail('UNSUPPORTED', `${where}: activation "${String(act)}"; relprop supports linear, ${Object.keys(ACTIVATIONS).join(', ')} (softmax only last)`);
      return emit(make(own ? name : `${name}/${act}`, x));
    };
    /** A 2-D window's padding: Keras's 'same' (TF's SAME_UPPER) or 'valid'. */
    const windowPads = (h: number, w: number, kernel: Pair, stride: Pair, dilation: Pair): Pads => {
      if (c.padding === 'same') return samePads('SAME_UPPER', [h, w], kernel, stride, dilation);
      if (c.padding !== undefined && c.padding !== 'valid') fail('UNSUPPORTED', `${where}: padding "${String(c.padding)}"`);
      return [0, 0, 0, 0];
    };
    /** A depthwise kernel [kh, kw, cin, mult] as a grouped conv's [cin * mult, 1, kh, kw]: output ci * mult + m reads channel ci. */
    const depthwise = (key: string, cin: number, kernel: Pair, mult: number): Float32Array => depthwiseKernelFromHWCM(param(name, key, [kernel[0], kernel[1], cin, mult])!, kernel[0], kernel[1], cin, mult);
    let out: string;

    switch (layer.class_name) {
      case 'InputLayer': {
        if (input) fail('UNSUPPORTED', `${where}: a second input; relprop explains models with one image input`);
        const shape = (c.batch_input_shape ?? c.batch_shape) as unknown;
        if (!Array.isArray(shape) || shape.length !== 4 || !shape.slice(1).every((d) => Number.isInteger(d) && d > 0)) {
          fail('UNSUPPORTED', `${where}: input shape ${JSON.stringify(shape)}; relprop needs a fixed [null, H, W, C] image input`);
        }
        inputHWC = [shape[1], shape[2], shape[3]];
        input = { name, shape: [shape[3], shape[1], shape[2]] };
        shapes.set(name, input.shape);
        out = name;
        break;
      }
      case 'Conv2D': {
        const [cin, h, w] = mapShape();
        const filters = Number(c.filters);
        const kernel = pairOf(c.kernel_size, where, 'kernel_size');
        const stride = pairOf(c.strides ?? 1, where, 'strides');
        const dilation = pairOf(c.dilation_rate ?? 1, where, 'dilation_rate');
        const groups = Number(c.groups ?? 1);
        if (!Number.isInteger(groups) || groups < 1 || cin % groups !== 0) fail('BAD_MODEL', `${where}: groups=${String(c.groups)} does not divide its ${cin} input channels`);
        const cinG = cin / groups;
        let pads: Pads = [0, 0, 0, 0];
        if (c.padding === 'same') pads = samePads('SAME_UPPER', [h, w], kernel, stride, dilation);
        else if (c.padding !== 'valid') fail('UNSUPPORTED', `${where}: padding "${String(c.padding)}"`);
        const weight = convKernelFromHWIO(param(name, 'kernel', [kernel[0], kernel[1], cinG, filters])!, kernel[0], kernel[1], cinG, filters);
        const bias = c.use_bias === false ? null : param(name, 'bias', [filters]);
        const conv = emit({ op: 'Conv2d', name, inputs: [one()], inChannels: cin, outChannels: filters, kernel, stride, pads, dilation, groups, weight, bias });
        out = activation(conv, c.activation);
        break;
      }
      case 'Dense': {
        const x = one();
        const s = shapes.get(x)!;
        if (s.length !== 1) fail('UNSUPPORTED', `${where} reads a [${s}] tensor; relprop reads Dense layers on flat inputs (add a Flatten)`);
        const units = Number(c.units);
        const nin = s[0];
        // Keras rows are in the order of the flattened NHWC map; relprop's are in NCHW order.
        const weight = denseKernelFromInOut(param(name, 'kernel', [nin, units])!, nin, units, flattenedFrom.get(x));
        const bias = c.use_bias === false ? null : param(name, 'bias', [units]);
        const dense = emit({ op: 'Linear', name, inputs: [x], inFeatures: nin, outFeatures: units, weight, bias });
        out = activation(dense, c.activation);
        break;
      }
      case 'BatchNormalization': {
        const [ch] = mapShape();
        const axis = Array.isArray(c.axis) ? c.axis : [c.axis ?? -1];
        if (axis.length !== 1 || (axis[0] !== -1 && axis[0] !== 3)) fail('UNSUPPORTED', `${where}: axis ${JSON.stringify(c.axis)}; relprop normalizes the channel axis only`);
        const gamma = c.scale === false ? new Float32Array(ch).fill(1) : param(name, 'gamma', [ch])!;
        const beta = c.center === false ? new Float32Array(ch) : param(name, 'beta', [ch])!;
        out = emit({
          op: 'BatchNorm',
          name,
          inputs: [one()],
          channels: ch,
          gamma,
          beta,
          mean: param(name, 'moving_mean', [ch])!,
          variance: param(name, 'moving_variance', [ch])!,
          epsilon: Number(c.epsilon ?? 1e-3),
        });
        break;
      }
      case 'Activation':
        out = activation(one(), c.activation, true);
        if (out === src[0]) out = emit({ op: 'Identity', name, inputs: [out] });
        break;
      case 'ReLU': {
        const max = c.max_value ?? null;
        const slope = Number(c.negative_slope ?? 0);
        if (Number(c.threshold ?? 0) !== 0) fail('UNSUPPORTED', `${where}: a thresholded ReLU (threshold ${String(c.threshold)})`);
        if (max !== null && slope !== 0) fail('UNSUPPORTED', `${where}: a ReLU both capped (max_value ${String(max)}) and leaky (negative_slope ${slope})`);
        if (max !== null) out = emit({ op: 'Clip', name, inputs: [one()], min: 0, max: Number(max) });
        else if (slope !== 0) out = emit({ op: 'LeakyReLU', name, inputs: [one()], alpha: slope });
        else out = emit({ op: 'ReLU', name, inputs: [one()] });
        break;
      }
      case 'LeakyReLU':
        // Keras 2 and TF.js call the slope alpha (default 0.3), Keras 3 negative_slope.
        out = emit({ op: 'LeakyReLU', name, inputs: [one()], alpha: Number(c.alpha ?? c.negative_slope ?? 0.3) });
        break;
      case 'DepthwiseConv2D':
      case 'SeparableConv2D': {
        const [cin, h, w] = mapShape();
        const kernel = pairOf(c.kernel_size, where, 'kernel_size');
        const stride = pairOf(c.strides ?? 1, where, 'strides');
        const dilation = pairOf(c.dilation_rate ?? 1, where, 'dilation_rate');
        // TF.js leaves depth_multiplier out of a SeparableConv2D's config: the kernel's shape has it.
        const stored = [...weights].find(([key]) => key.replace(/:0$/, '').endsWith(`${name}/depthwise_kernel`))?.[1].shape;
        const mult = Number(c.depth_multiplier ?? stored?.[3] ?? 1);
        if (!Number.isInteger(mult) || mult < 1) fail('BAD_MODEL', `${where}: depth_multiplier ${String(c.depth_multiplier)}`);
        const pads = windowPads(h, w, kernel, stride, dilation);
        const separable = layer.class_name === 'SeparableConv2D';
        const dwName = separable ? `${name}/depthwise` : name;
        const dwBias = !separable && c.use_bias !== false ? param(name, 'bias', [cin * mult]) : null;
        let y = emit({ op: 'Conv2d', name: dwName, inputs: [one()], inChannels: cin, outChannels: cin * mult, kernel, stride, pads, dilation, groups: cin, weight: depthwise('depthwise_kernel', cin, kernel, mult), bias: dwBias });
        if (separable) {
          const filters = Number(c.filters);
          const weight = convKernelFromHWIO(param(name, 'pointwise_kernel', [1, 1, cin * mult, filters])!, 1, 1, cin * mult, filters);
          const bias = c.use_bias === false ? null : param(name, 'bias', [filters]);
          y = emit({ op: 'Conv2d', name, inputs: [y], inChannels: cin * mult, outChannels: filters, kernel: [1, 1], stride: [1, 1], pads: [0, 0, 0, 0], dilation: [1, 1], groups: 1, weight, bias });
        }
        out = activation(y, c.activation);
        break;
      }
      case 'Concatenate': {
        const rank = shapes.get(src[0])!.length + 1;
        const axis = Number(c.axis ?? -1);
        if (axis !== -1 && axis !== rank - 1) fail('UNSUPPORTED', `${where}: axis ${axis}; relprop concatenates along channels (the last axis) only`);
        out = emit({ op: 'Concat', name, inputs: src });
        break;
      }
      case 'Multiply': {
        // A squeeze-and-excitation gate: a map times one Sigmoid or HardSigmoid factor per channel.
        const producer = (v: string): GraphNode | undefined => {
          const n = nodes.find((m) => m.name === v);
          return n?.op === 'Identity' ? producer(n.inputs[0]) : n;
        };
        const gate = src.length === 2 ? src.findIndex((v) => {
          const s = shapes.get(v)!;
          const p = producer(v);
          return s.length === 3 && s[1] === 1 && s[2] === 1 && (p?.op === 'Sigmoid' || p?.op === 'HardSigmoid');
        }) : -1;
        if (gate < 0) {
          fail('UNSUPPORTED', `${where} multiplies ${src.map((v) => `"${v}" [${shapes.get(v)}]`).join(' by ')}; relprop reads Multiply only as a squeeze-and-excitation gate (a map times a per-channel sigmoid or hard_sigmoid of shape (1, 1, C))`);
        }
        out = emit({ op: 'Gate', name, inputs: [src[1 - gate], src[gate]] });
        break;
      }
      case 'Reshape': {
        const x = one();
        const s = shapes.get(x)!;
        const target = c.target_shape;
        const per = s.reduce((a, b) => a * b, 1);
        const channels = Array.isArray(target) ? target[target.length - 1] : undefined;
        const flat = Array.isArray(target) && target.length === 1 && target[0] === per;
        const unflat = Array.isArray(target) && target.length === 3 && target[0] === 1 && target[1] === 1 && channels === per;
        if (flat && s.length === 3 && s[1] === 1 && s[2] === 1) out = emit({ op: 'Flatten', name, inputs: [x] });
        else if (flat && s.length === 1) out = emit({ op: 'Identity', name, inputs: [x] });
        else if (unflat) {
          // (C,) -> (1, 1, C), as SE blocks write it: the value before the flattening, when there is one.
          const before = nodes.find((n) => n.name === x);
          if (before?.op !== 'Flatten' || shapes.get(before.inputs[0])!.length !== 3) {
            fail('UNSUPPORTED', `${where} reshapes [${s}] to ${JSON.stringify(target)}; relprop reads (C,) -> (1, 1, C) only of a pooled (C, 1, 1) map`);
          }
          out = emit({ op: 'Identity', name, inputs: [before.inputs[0]] });
        } else {
          return fail('UNSUPPORTED', `${where} reshapes [${s}] to ${JSON.stringify(target)}; relprop reads reshapes between (1, 1, C) and (C,) only`);
        }
        break;
      }
      case 'ZeroPadding2D': {
        mapShape();
        const p = c.padding;
        let pads: Pads;
        if (typeof p === 'number') pads = [p, p, p, p];
        else if (Array.isArray(p) && p.length === 2 && p.every((x) => typeof x === 'number')) pads = [p[0], p[1], p[0], p[1]];
        else if (Array.isArray(p) && p.length === 2 && p.every((x) => Array.isArray(x) && x.length === 2)) pads = [p[0][0], p[1][0], p[0][1], p[1][1]];
        else return fail('BAD_MODEL', `${where}: padding ${JSON.stringify(p)}`);
        out = emit({ op: 'Pad', name, inputs: [one()], pads });
        break;
      }
      case 'MaxPooling2D':
      case 'AveragePooling2D': {
        const [, h, w] = mapShape();
        const kernel = pairOf(c.pool_size ?? 2, where, 'pool_size');
        const stride = pairOf(c.strides ?? kernel, where, 'strides');
        let pads: Pads = [0, 0, 0, 0];
        if (c.padding === 'same') pads = samePads('SAME_UPPER', [h, w], kernel, stride, [1, 1]);
        else if (c.padding !== undefined && c.padding !== 'valid') fail('UNSUPPORTED', `${where}: padding "${String(c.padding)}"`);
        out =
          layer.class_name === 'MaxPooling2D'
            ? emit({ op: 'MaxPool2d', name, inputs: [one()], kernel, stride, pads })
            : emit({ op: 'AvgPool2d', name, inputs: [one()], kernel, stride, pads, countIncludePad: false });
        break;
      }
      case 'GlobalAveragePooling2D': {
        mapShape();
        const pooled = emit({ op: 'GlobalAvgPool', name: c.keepdims ? name : `${name}/pool`, inputs: [one()] });
        out = c.keepdims ? pooled : emit({ op: 'Flatten', name, inputs: [pooled] });
        break;
      }
      case 'Flatten': {
        const s = shapes.get(one())!;
        out = emit({ op: 'Flatten', name, inputs: [one()] });
        if (s.length === 3 && (s[1] > 1 || s[2] > 1)) flattenedFrom.set(out, [s[0], s[1], s[2]]);
        break;
      }
      case 'Add':
        out = emit({ op: 'Add', name, inputs: src });
        break;
      case 'Dropout':
        out = emit({ op: 'Identity', name, inputs: [one()] });
        break;
      default:
        return fail('UNSUPPORTED', `${where}: layer type "${layer.class_name}" is not supported; relprop reads ${KERAS_LAYERS.join(', ')}`);
    }
    if (layer.class_name === 'InputLayer' && src.length) fail('BAD_MODEL', `${where} has inputs`);
    value.set(name, out);
    previous = name;
  }
  if (!input) fail('UNSUPPORTED', 'Keras model has no InputLayer with a fixed input shape');
  const output = functional ? value.get(outputs[0]) : value.get(previous!);
  if (output === undefined) fail('BAD_MODEL', `Keras model: output layer "${outputs[0]}" is not a layer of the model`);
  const softmaxes = nodes.filter((n) => n.op === 'Softmax');
  if (softmaxes.some((s) => s.name !== output)) fail('UNSUPPORTED', `Keras model applies a softmax ("${softmaxes[0].name}") before its output; relprop explains logits`);
  try {
    return { graph: new Graph(input, nodes, output), inputHWC };
  } catch (e) {
    if (e instanceof RelpropError) throw new RelpropError(e.code, `Keras model: ${e.message}`);
    throw e;
  }
}
