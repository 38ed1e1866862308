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
import type { InputShapeOptions } from '../input-shape.js';
import { fail, RelpropError } from '../../errors.js';
import type { Graph } from '../../graph/graph.js';
import { Emitter } from '../emitter.js';
import { CONVERTERS, GRAPH_MODEL_OPS } from './graph-ops.js';
import { dataInputs, isObject, TfOp, type Const, type Reading, type TfNode, type Value } from './tf-op.js';
import type { WeightGroup } from './weights.js';

export { GRAPH_MODEL_OPS };

export interface GraphModelJson {
  format: 'graph-model';
  modelTopology: { node?: TfNode[] };
  weightsManifest: WeightGroup[];
  signature?: { outputs?: Record<string, { name?: string }> };
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
  const readers = new Map<string, number>();
  for (const n of tf.values()) for (const s of dataInputs(n)) readers.set(s, (readers.get(s) ?? 0) + 1);

  const outputName = outputOf(json, tf, readers);
  const values = new Map<string, Value>();
  const reading: Reading = {
    emitter: new Emitter('graph model'),
    weights,
    options,
    readers,
    flattenedFrom: new Map(),
    valueOf(name) {
      const v = values.get(name);
      if (v) return v;
      return fail('BAD_MODEL', `graph model: "${name}" is read before it is computed (a cycle?)`);
    },
  };
  const convert = (n: TfNode): Value => {
    const converter = Object.hasOwn(CONVERTERS, n.op) ? CONVERTERS[n.op] : undefined;
    if (!converter) fail('UNSUPPORTED', `graph node "${n.name}" (${n.op}): op ${n.op} is not supported; relprop reads ${GRAPH_MODEL_OPS.join(', ')}`);
    return converter(new TfOp(n, reading));
  };

  // Depth-first from the output, without recursion (converted graphs run to thousands of nodes).
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
        const emitted = reading.emitter.nodes.length;
        const v = convert(n);
        values.set(name, v);
        // A node read as an alias of an earlier value (Identity, a bias folded): its readers read that value.
        if ('map' in v && v.map !== name && !reading.emitter.nodes.slice(emitted).some((e) => e.name === v.map)) {
          readers.set(v.map, (readers.get(v.map) ?? 0) - 1 + (readers.get(name) ?? 0));
        }
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
  if (reading.emitter.inputName === undefined) fail('UNSUPPORTED', 'graph model: the output does not depend on a Placeholder input');
  const out = values.get(outputName)!;
  if (!('map' in out)) fail('UNSUPPORTED', `graph model: the output "${outputName}" is a constant`);
  return reading.emitter.graph(out.map);
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
