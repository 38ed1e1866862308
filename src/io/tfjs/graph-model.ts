/**
 * TF.js graph models (model.json with "format": "graph-model"): the converter's GraphDef, as JSON, whose
 * Const nodes hold their values in the weights manifest. The ops image classifiers use become relprop's
 * graph; NHWC maps become NCHW (kernels transposed, a flattened map's dense rows reordered), so the graph
 * computes the same logits on the NCHW image. Only nodes the output depends on are read.
 *
 * Constants applied to a map (BiasAdd, Add/Sub/Mul/RealDiv of a scalar or per-channel constant) become
 * a bias of the conv or dense layer right before them when nothing else reads it, and a per-channel
 * affine map otherwise (a BatchNorm node with unit variance and epsilon 0, which the composites treat as
 * a standalone BatchNorm, and which folds into a conv before it): the input scaling of a converted
 * MobileNet, for one.
 */
import { resolveInputShape, type InputShapeOptions } from '../input-shape.js';
import { fail, RelpropError } from '../../errors.js';
import { Graph } from '../../graph/graph.js';
import type { GraphNode, Pads, Pair } from '../../graph/nodes.js';
import type { Shape } from '../../graph/shapes.js';
import { Emitted } from './emitted.js';
import { convKernelFromHWIO, denseKernelFromInOut, depthwiseKernelFromHWCM } from '../nhwc.js';
import { samePads } from '../padding.js';
import { transpose2d } from '../tensor.js';
import type { WeightGroup } from './weights.js';

export const GRAPH_MODEL_OPS = [
  'Placeholder', 'Const', 'Identity', 'Conv2D', '_FusedConv2D', 'DepthwiseConv2dNative', 'FusedDepthwiseConv2dNative',
  'FusedBatchNorm', 'FusedBatchNormV2', 'FusedBatchNormV3', 'BiasAdd', 'Add', 'AddV2', 'Sub', 'Mul', 'RealDiv',
  'Relu', 'Relu6', 'LeakyRelu', 'Sigmoid', 'MaxPool', 'AvgPool', 'Mean', 'ConcatV2', 'Reshape', 'Squeeze',
  'MatMul', '_FusedMatMul', 'Pad', 'Softmax',
] as const;

interface TfNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, TfAttr>;
}
interface TfAttr {
  i?: string | number;
  f?: number;
  b?: boolean;
  s?: string;
  type?: string;
  list?: { i?: (string | number)[]; s?: string[]; f?: number[] };
  shape?: { dim?: { size?: string | number }[]; unknownRank?: boolean };
  tensor?: { dtype?: string; tensorShape?: { dim?: { size?: string | number }[] }; floatVal?: number[]; intVal?: number[] };
}

export interface GraphModelJson {
  format: 'graph-model';
  modelTopology: { node?: TfNode[] };
  weightsManifest: WeightGroup[];
  signature?: { outputs?: Record<string, { name?: string }> };
}

type Const = { shape: number[]; data: Float32Array };
/** A TF value: a graph value of relprop's (a map [C, H, W] or a flat [F]) or a constant. */
type Value = { map: string } | { const: Const };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
/** GraphDef JSON keeps strings (padding, data_format, fused op names) in base64. */
function text(s: unknown): string {
  try {
    return atob(String(s));
  } catch {
    return fail('BAD_MODEL', `graph model: the attribute value ${JSON.stringify(s)} is not base64`);
  }
}

export function isGraphModel(json: unknown): json is GraphModelJson {
  return isObject(json) && json.format === 'graph-model';
}

export function importGraphModel(json: GraphModelJson, weights: Map<string, Const>, options: InputShapeOptions = {}): Graph {
  const list = json.modelTopology?.node;
  if (!Array.isArray(list)) fail('BAD_MODEL', 'graph model: modelTopology has no node list');
  const tf = new Map<string, TfNode>();
  for (const [i, n] of list.entries()) {
    if (!isObject(n) || typeof n.name !== 'string' || typeof n.op !== 'string') fail('BAD_MODEL', `graph model: node #${i} has no name or op`);
    if (tf.has(n.name)) fail('BAD_MODEL', `graph model: two nodes are named "${n.name}"`);
    if ((n.input !== undefined && (!Array.isArray(n.input) || !n.input.every((s) => typeof s === 'string'))) || (n.attr !== undefined && !isObject(n.attr))) {
      fail('BAD_MODEL', `graph model: node "${n.name}" has malformed inputs or attributes`);
    }
    tf.set(n.name, n as TfNode);
  }
  const ref = (s: string, where: string): string => {
    if (typeof s !== 'string') fail('BAD_MODEL', `${where}: an input is not a name`);
    const [name, port] = s.split(':');
    if (port !== undefined && port !== '0') fail('UNSUPPORTED', `${where} reads output ${port} of "${name}"; relprop reads first outputs only`);
    return name;
  };
  const dataInputs = (n: TfNode) => (n.input ?? []).filter((s) => !s.startsWith('^')).map((s) => ref(s, `graph node "${n.name}" (${n.op})`));
  const readers = new Map<string, number>();
  for (const n of tf.values()) for (const s of dataInputs(n)) readers.set(s, (readers.get(s) ?? 0) + 1);

  const outputName = outputOf(json, tf, readers);
  const emitted = new Emitted('graph model');
  const { nodes, shapes, byName } = emitted;
  const emit = (node: GraphNode) => emitted.add(node);
  const flattenedFrom = new Map<string, [number, number, number]>();
  const values = new Map<string, Value>();
  let input: { name: string; shape: Shape } | null = null;


  const convert = (n: TfNode): Value => {
    const where = `graph node "${n.name}" (${n.op})`;
    const ins = dataInputs(n);
    const arg = (i: number): Value => {
      if (i >= ins.length) fail('BAD_MODEL', `${where} has ${ins.length} inputs, needs more`);
      return valueOf(ins[i]);
    };
    const map = (i = 0): string => {
      const v = arg(i);
      if (!('map' in v)) fail('UNSUPPORTED', `${where}: input ${i} is a constant; relprop reads ops on the image's values`);
      return v.map;
    };
    const constant = (i: number, shape?: number[]): Const => {
      const v = arg(i);
      if (!('const' in v)) return fail('UNSUPPORTED', `${where}: input ${i} ("${ins[i]}") must be a constant (weights computed in the graph are not supported)`);
      if (shape && (v.const.shape.length !== shape.length || v.const.shape.some((d, k) => d !== shape[k]))) fail('BAD_MODEL', `${where}: constant "${ins[i]}" has shape [${v.const.shape}], expected [${shape}]`);
      return v.const;
    };
    const mapShape = (x: string): [number, number, number] => {
      const s = shapes.get(x)!;
      if (s.length !== 3) fail('UNSUPPORTED', `${where} needs a feature map, got [${s}]`);
      return [s[0], s[1], s[2]];
    };
    const attr = n.attr ?? {};
    const ints = (key: string): number[] => (attr[key]?.list?.i ?? []).map(Number);
    const str = (key: string, fallback?: string): string => {
      const s = attr[key]?.s;
      if (s === undefined) return fallback ?? fail('BAD_MODEL', `${where} has no attribute ${key}`);
      return text(s);
    };
    const nhwc = () => {
      const format = str('data_format', 'NHWC');
      if (format !== 'NHWC') fail('UNSUPPORTED', `${where}: data_format ${format}; relprop reads NHWC graph models`);
    };
    const spatialPair = (key: string, fallback: number): Pair => {
      const v = ints(key);
      if (v.length === 0) return [fallback, fallback];
      if (v.length !== 4 || v[0] !== 1 || v[3] !== 1) fail('UNSUPPORTED', `${where}: ${key} [${v}]; relprop reads NHWC windows [1, h, w, 1]`);
      return [v[1], v[2]];
    };
    const windowPads = (h: number, w: number, kernel: Pair, stride: Pair, dilation: Pair): Pads => {
      const padding = str('padding', 'VALID');
      if (padding === 'SAME') return samePads('SAME_UPPER', [h, w], kernel, stride, dilation);
      if (padding === 'VALID') return [0, 0, 0, 0];
      if (padding === 'EXPLICIT') {
        const e = ints('explicit_paddings');
        if (e.length !== 8 || e[0] || e[1] || e[6] || e[7]) fail('UNSUPPORTED', `${where}: explicit_paddings [${e}]`);
        return [e[2], e[4], e[3], e[5]];
      }
      return fail('UNSUPPORTED', `${where}: padding ${padding}`);
    };
    /** The activation a fused op ends with. */
    const activate = (x: string, act: string | undefined): string => {
      if (act === undefined) return x;
      const name = `${n.name}/${act}`;
      if (act === 'Relu') return emit({ op: 'ReLU', name, inputs: [x] });
      if (act === 'Relu6') return emit({ op: 'Clip', name, inputs: [x], min: 0, max: 6 });
      if (act === 'Sigmoid') return emit({ op: 'Sigmoid', name, inputs: [x] });
      if (act === 'LeakyRelu') return emit({ op: 'LeakyReLU', name, inputs: [x], alpha: attr.leakyrelu_alpha?.f ?? 0.2 });
      return fail('UNSUPPORTED', `${where}: fused activation ${act}; relprop reads Relu, Relu6, LeakyRelu and Sigmoid`);
    };
    /**
     * fused_ops of _Fused*: [BiasAdd, activation?], the bias the constant after the weights. (TF's
     * FusedBatchNorm fusion is left out: tfjs cannot run it, so the converter does not write it.)
     */
    const fused = (layer: string, channels: number): string => {
      const ops = (attr.fused_ops?.list?.s ?? []).map(text);
      const [first, act, ...rest] = ops;
      if (rest.length || (first !== undefined && first !== 'BiasAdd')) fail('UNSUPPORTED', `${where}: fused ops [${ops}]; relprop reads [BiasAdd, activation]`);
      if (first === 'BiasAdd') (byName.get(layer) as { bias: Float32Array | null }).bias = constant(2, [channels]).data.slice();
      return activate(layer, act);
    };

    switch (n.op) {
      case 'Placeholder': {
        if (input) fail('UNSUPPORTED', `${where}: a second input ("${input.name}" is the first); relprop explains models with one image input`);
        const dims = (attr.shape?.shape?.dim ?? []).map((d) => Number(d.size ?? -1));
        if (dims.length !== 4) fail('UNSUPPORTED', `${where}: input of rank ${dims.length}; relprop needs an [N, H, W, C] image input`);
        const [, h, w, c] = dims.map((d) => (d >= 1 ? d : null));
        const shape = resolveInputShape([c, h, w], options, where);
        input = { name: n.name, shape };
        shapes.set(n.name, shape);
        return { map: n.name };
      }
      case 'Const': {
        const w = weights.get(n.name);
        if (w) return { const: w };
        const t = attr.value?.tensor;
        const vals = t?.floatVal ?? t?.intVal;
        const shape = (t?.tensorShape?.dim ?? []).map((d) => Number(d.size));
        const count = shape.reduce((a, b) => a * b, 1);
        // Inline scalars or splats (a single value for every element), as TF writes them.
        if (vals && vals.length >= 1 && count <= 1 << 20 && (vals.length === count || vals.length === 1)) return { const: { shape, data: Float32Array.from({ length: count }, (_, k) => Number(vals[vals.length === 1 ? 0 : k])) } };
        return fail('BAD_MODEL', `${where}: its value is neither in the weights manifest nor inline`);
      }
      case 'Identity':
        return arg(0);
      case 'Conv2D':
      case '_FusedConv2D':
      case 'DepthwiseConv2dNative':
      case 'FusedDepthwiseConv2dNative': {
        nhwc();
        const x = map();
        const [cin, h, w] = mapShape(x);
        const filter = constant(1);
        if (filter.shape.length !== 4) fail('BAD_MODEL', `${where}: filter of shape [${filter.shape}]`);
        const [kh, kw, fin, fout] = filter.shape;
        const stride = spatialPair('strides', 1);
        const dilation = spatialPair('dilations', 1);
        const pads = windowPads(h, w, [kh, kw], stride, dilation);
        const depthwise = n.op.includes('Depthwise');
        const groups = depthwise ? cin : cin / fin;
        if (depthwise ? fin !== cin : !Number.isInteger(groups) || groups < 1) fail('BAD_MODEL', `${where}: a [${filter.shape}] filter on ${cin} channels`);
        const cout = depthwise ? cin * fout : fout;
        const weight = depthwise ? depthwiseKernelFromHWCM(filter.data, kh, kw, cin, fout) : convKernelFromHWIO(filter.data, kh, kw, fin, fout);
        const conv = emit({ op: 'Conv2d', name: n.name, inputs: [x], inChannels: cin, outChannels: cout, kernel: [kh, kw], stride, pads, dilation, groups, weight, bias: null });
        return { map: n.op.startsWith('Fused') || n.op.startsWith('_Fused') ? fused(conv, cout) : conv };
      }
      case 'MatMul':
      case '_FusedMatMul': {
        if (attr.transpose_a?.b) fail('UNSUPPORTED', `${where}: transpose_a`);
        const x = map();
        const s = shapes.get(x)!;
        if (s.length !== 1) fail('UNSUPPORTED', `${where} reads a [${s}] value; relprop reads MatMul on flat values`);
        const k = constant(1);
        const tb = attr.transpose_b?.b === true;
        const [nin, units] = tb ? [k.shape[1], k.shape[0]] : [k.shape[0], k.shape[1]];
        if (k.shape.length !== 2 || nin !== s[0]) fail('BAD_MODEL', `${where}: a [${k.shape}] matrix on ${s[0]} features`);
        const from = flattenedFrom.get(x);
        const inOut = tb ? transpose2d(k.data, units, nin) : k.data;
        const linear = emit({ op: 'Linear', name: n.name, inputs: [x], inFeatures: nin, outFeatures: units, weight: denseKernelFromInOut(inOut, nin, units, from), bias: null });
        return { map: n.op === '_FusedMatMul' ? fused(linear, units) : linear };
      }
      case 'FusedBatchNorm':
      case 'FusedBatchNormV2':
      case 'FusedBatchNormV3': {
        nhwc();
        if (attr.is_training?.b) fail('UNSUPPORTED', `${where} is in training mode`);
        const x = map();
        const [ch] = mapShape(x);
        const [gamma, beta, mean, variance] = [1, 2, 3, 4].map((i) => constant(i, [ch]).data);
        return { map: emit({ op: 'BatchNorm', name: n.name, inputs: [x], channels: ch, gamma, beta, mean, variance, epsilon: attr.epsilon?.f ?? 1e-3 }) };
      }
      case 'BiasAdd':
      case 'Add':
      case 'AddV2':
      case 'Sub':
      case 'Mul':
      case 'RealDiv': {
        const [a, b] = [arg(0), arg(1)];
        if ('map' in a && 'map' in b) {
          if (n.op === 'Add' || n.op === 'AddV2') return { map: emit({ op: 'Add', name: n.name, inputs: [a.map, b.map] }) };
          return fail('UNSUPPORTED', `${where} of two computed values; relprop reads ${n.op} with a constant (sums of maps are Add/AddV2)`);
        }
        if (!('map' in a) && !('map' in b)) fail('UNSUPPORTED', `${where} of two constants`);
        if ('const' in a && (n.op === 'Sub' || n.op === 'RealDiv' || n.op === 'BiasAdd')) fail('UNSUPPORTED', `${where}: a constant ${n.op === 'Sub' ? 'minus' : 'over'} a computed value`);
        const x = 'map' in a ? a.map : (b as { map: string }).map;
        const c = ('const' in b ? b : a) as { const: Const };
        const s = shapes.get(x)!;
        const channels = s[0];
        const per = c.const.data.length;
        if (per !== 1 && per !== channels) fail('UNSUPPORTED', `${where}: a constant of shape [${c.const.shape}] on a [${s}] value; relprop reads scalars and per-channel vectors`);
        const vec = Float32Array.from({ length: channels }, (_, i) => c.const.data[per === 1 ? 0 : i]);
        const additive = n.op === 'BiasAdd' || n.op === 'Add' || n.op === 'AddV2' || n.op === 'Sub';
        const shift = n.op === 'Sub' ? vec.map((v) => -v) : vec;
        const producer = byName.get(x);
        // A bias right after the conv or dense layer that nothing else reads: that layer's own bias.
        if (additive && producer && (producer.op === 'Conv2d' || producer.op === 'Linear') && !producer.bias && readers.get(producer.name) === 1) {
          producer.bias = shift;
          return { map: x };
        }
        const scale = n.op === 'Mul' ? vec : n.op === 'RealDiv' ? vec.map((v) => 1 / v) : new Float32Array(channels).fill(1);
        if (s.length !== 3) fail('UNSUPPORTED', `${where} on a flat value not right after a MatMul`);
        return { map: emit({ op: 'BatchNorm', name: n.name, inputs: [x], channels, gamma: scale, beta: additive ? shift : new Float32Array(channels), mean: new Float32Array(channels), variance: new Float32Array(channels).fill(1), epsilon: 0 }) };
      }
      case 'Relu':
        return { map: emit({ op: 'ReLU', name: n.name, inputs: [map()] }) };
      case 'Relu6':
        return { map: emit({ op: 'Clip', name: n.name, inputs: [map()], min: 0, max: 6 }) };
      case 'LeakyRelu':
        return { map: emit({ op: 'LeakyReLU', name: n.name, inputs: [map()], alpha: attr.alpha?.f ?? 0.2 }) };
      case 'Sigmoid':
        return { map: emit({ op: 'Sigmoid', name: n.name, inputs: [map()] }) };
      case 'Softmax':
        return { map: emit({ op: 'Softmax', name: n.name, inputs: [map()] }) };
      case 'MaxPool':
      case 'AvgPool': {
        nhwc();
        const x = map();
        const [, h, w] = mapShape(x);
        const kernel = spatialPair('ksize', 1);
        const stride = spatialPair('strides', 1);
        const pads = windowPads(h, w, kernel, stride, [1, 1]);
        if (n.op === 'MaxPool') return { map: emit({ op: 'MaxPool2d', name: n.name, inputs: [x], kernel, stride, pads }) };
        return { map: emit({ op: 'AvgPool2d', name: n.name, inputs: [x], kernel, stride, pads, countIncludePad: false }) };
      }
      case 'Mean': {
        const x = map();
        mapShape(x);
        const axes = [...constant(1).data].map((a) => (a < 0 ? a + 4 : a)).sort();
        if (axes.length !== 2 || axes[0] !== 1 || axes[1] !== 2) fail('UNSUPPORTED', `${where}: a mean over axes [${axes}]; relprop reads the spatial mean (axes 1 and 2)`);
        const keep = attr.keep_dims?.b === true;
        const pooled = emit({ op: 'GlobalAvgPool', name: keep ? n.name : `${n.name}/pool`, inputs: [x] });
        return { map: keep ? pooled : emit({ op: 'Flatten', name: n.name, inputs: [pooled] }) };
      }
      case 'ConcatV2': {
        const parts = ins.slice(0, -1).map((_, i) => map(i));
        const axis = constant(ins.length - 1).data[0];
        if (axis !== 3 && axis !== -1) fail('UNSUPPORTED', `${where}: concatenation along axis ${axis}; relprop concatenates channels (axis 3)`);
        for (const p of parts) mapShape(p);
        return { map: emit({ op: 'Concat', name: n.name, inputs: parts }) };
      }
      case 'Reshape':
      case 'Squeeze': {
        const x = map();
        const s = shapes.get(x)!;
        const count = s.reduce((a, b) => a * b, 1);
        const target = n.op === 'Reshape' ? [...constant(1).data] : null;
        const squeezed = n.op === 'Squeeze' ? ints('squeeze_dims').map((d) => (d < 0 ? d + 4 : d)).sort() : null;
        if (s.length === 3 && target && target.length === 2 && (target[1] === count || target[1] === -1)) {
          const flat = emit({ op: 'Flatten', name: n.name, inputs: [x] });
          if (s[1] > 1 || s[2] > 1) flattenedFrom.set(flat, [s[0], s[1], s[2]]);
          return { map: flat };
        }
        if (s.length === 3 && s[1] === 1 && s[2] === 1 && squeezed && (squeezed.length === 0 || (squeezed.length === 2 && squeezed[0] === 1 && squeezed[1] === 2))) return { map: emit({ op: 'Flatten', name: n.name, inputs: [x] }) };
        return fail('UNSUPPORTED', `${where}: ${target ? `a reshape of [${s}] to [${target}]` : `a squeeze of [${s}] over [${squeezed}]`}; relprop reads flattening ones`);
      }
      case 'Pad': {
        const x = map();
        mapShape(x);
        const p = constant(1, [4, 2]).data;
        if (p[0] || p[1] || p[6] || p[7]) fail('UNSUPPORTED', `${where}: padding of the batch or channel axis`);
        return { map: emit({ op: 'Pad', name: n.name, inputs: [x], pads: [p[2], p[4], p[3], p[5]] }) };
      }
      default:
        return fail('UNSUPPORTED', `${where}: op ${n.op} is not supported; relprop reads ${GRAPH_MODEL_OPS.join(', ')}`);
    }
  };

  // Depth-first from the output, without recursion (converted graphs run to thousands of nodes).
  const valueOf = (name: string): Value => {
    const v = values.get(name);
    if (v) return v;
    fail('BAD_MODEL', `graph model: "${name}" is read before it is computed (a cycle?)`);
  };
  const state = new Map<string, 'open' | 'done'>();
  const stack = [outputName];
  while (stack.length) {
    const name = stack[stack.length - 1];
    const n = tf.get(name);
    if (!n) fail('BAD_MODEL', `graph model: a node reads "${name}", which is not in the graph`);
    if (state.get(name) === 'done') {
      stack.pop();
      continue;
    }
    const pending = dataInputs(n).filter((s) => state.get(s) !== 'done');
    if (state.get(name) === 'open' || pending.length === 0) {
      if (pending.length) fail('BAD_MODEL', `graph model: node "${name}" depends on itself`);
      try {
        values.set(name, convert(n));
      } catch (e) {
        // A malformed attribute (a list that is not one, a number that is a string) is the file's fault.
        if (e instanceof RelpropError) throw e;
        fail('BAD_MODEL', `graph node "${name}" (${n.op}) is malformed: ${(e as Error).message}`);
      }
      state.set(name, 'done');
      stack.pop();
      continue;
    }
    state.set(name, 'open');
    for (const s of pending) {
      if (state.get(s) === 'open') fail('BAD_MODEL', `graph model: node "${name}" depends on itself`);
      stack.push(s);
    }
  }
  if (!input) fail('UNSUPPORTED', 'graph model: the output does not depend on a Placeholder input');
  const out = values.get(outputName)!;
  if (!('map' in out)) fail('UNSUPPORTED', `graph model: the output "${outputName}" is a constant`);
  const softmaxes = nodes.filter((s) => s.op === 'Softmax');
  if (softmaxes.some((s) => s.name !== out.map)) fail('UNSUPPORTED', `graph model applies a softmax ("${softmaxes[0].name}") before its output; relprop explains logits`);
  try {
    return new Graph(input, nodes, out.map);
  } catch (e) {
    if (e instanceof RelpropError) throw new RelpropError(e.code, `graph model: ${e.message}`);
    throw e;
  }
}

/** The output node: the signature's (its first), else the one node nothing reads. */
function outputOf(json: GraphModelJson, tf: Map<string, TfNode>, readers: Map<string, number>): string {
  const sig = json.signature?.outputs;
  const named = sig && Object.values(sig)[0]?.name;
  if (typeof named === 'string') {
    const name = named.split(':')[0];
    if (!tf.has(name)) fail('BAD_MODEL', `graph model: the signature's output "${named}" is not a node`);
    return name;
  }
  const sinks = [...tf.values()].filter((n) => !readers.has(n.name) && n.op !== 'Const' && n.op !== 'NoOp' && n.op !== 'Placeholder');
  if (sinks.length !== 1) fail('UNSUPPORTED', `graph model: ${sinks.length} outputs (${sinks.slice(0, 4).map((n) => n.name).join(', ')}); relprop explains single-output classifiers`);
  return sinks[0].name;
}

/**
 * The preset a graph model's input most likely follows. A graph that scales its own input (affine maps
 * right after it: a converted Rescaling layer, TF Hub's models) tells the pixel range it expects: the
 * one its scaling maps into a few units of zero — 0..255 ('raw', as x / 127.5 - 1 expects) or 0..1
 * ('unit', as 2x - 1 or TF Hub's convention). A graph without one is taken to expect [-1, 1] (Keras
 * "tf" mode, tfjs-models' MobileNets). A guess either way, which the preprocessing option overrides.
 */
export function graphPreprocessing(graph: Graph): 'raw' | 'unit' | 'keras-tf' {
  let x = graph.input.name;
  let scale = new Float64Array(graph.input.shape[0]).fill(1);
  let shift = new Float64Array(graph.input.shape[0]);
  let scaled = false;
  for (;;) {
    const next = graph.consumers.get(x) ?? [];
    if (next.length !== 1 || next[0].op !== 'BatchNorm' || next[0].epsilon !== 0) break;
    const bn = next[0];
    scale = scale.map((v, c) => v * bn.gamma[c]);
    shift = shift.map((v, c) => v * bn.gamma[c] + bn.beta[c]);
    scaled = true;
    x = bn.name;
  }
  if (!scaled) return 'keras-tf';
  return scale.every((v, c) => Math.abs(v * 255 + shift[c]) <= 4) ? 'raw' : 'unit';
}
