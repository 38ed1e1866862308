/**
 * Keras / TF.js layers models (`model.json` + weight shards) to relprop's graph IR.
 *
 * Keras works channels-last (NHWC); relprop's graph is NCHW. Kernels are transposed on import
 * ([kh, kw, cin, cout] -> [cout, cin, kh, kw]; Dense [in, out] -> [out, in]) and a Dense layer that reads
 * a flattened feature map has its rows reordered from H, W, C to C, H, W order, so the imported graph
 * computes the same logits on the NCHW image. A softmax activation is split off into a final Softmax
 * node: explanations start at the logits.
 */
import { fail } from '../../errors.js';
import type { Graph } from '../../graph/graph.js';
import { Emitter } from '../emitter.js';
import { CONVERTERS, declareInput, KERAS_LAYERS } from './keras-layers.js';
import { KerasLayer, type LayerJson, type Reading, type Weights } from './keras-layer.js';
import type { WeightGroup } from './weights.js';

export { KERAS_LAYERS };

export interface KerasModelJson {
  format?: string;
  modelTopology: unknown;
  weightsManifest: WeightGroup[];
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parses a TF.js model.json, layers or graph model, refusing anything else; its weights manifest checked. */
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

/** A layers model's layers, whether it is Sequential or functional, and a functional model's output layer. */
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

export interface KerasImport {
  graph: Graph;
  /** Keras input name and [H, W, C] as declared. */
  inputHWC: [number, number, number];
}

/** Maps a parsed model.json and its weights to a graph (NCHW). Takes the weights it uses out of the map. */
export function importKeras(json: KerasModelJson, weights: Weights): KerasImport {
  const { layers, functional, outputs } = layersOf(json.modelTopology);
  const reading: Reading = { emitter: new Emitter('Keras model'), weights, flattenedFrom: new Map(), inputHWC: null };
  /** Keras layer name -> the graph value that holds its output. */
  const value = new Map<string, string>();
  let previous: string | null = null;

  for (const [index, layer] of layers.entries()) {
    if (!isObject(layer) || typeof layer.class_name !== 'string' || !isObject(layer.config)) fail('BAD_MODEL', `model.json: layer #${index} is malformed`);
    const name = String(layer.name ?? layer.config.name ?? `layer_${index}`);
    const where = `Keras layer "${name}" (${layer.class_name})`;
    const c = layer.config;
    if (!functional && index === 0 && layer.class_name !== 'InputLayer') {
      // A Sequential model declares its input on the first layer.
      const input = `${name}_input`;
      declareInput(new KerasLayer(name, layer.class_name, c, [], reading), c.batch_input_shape, input);
      value.set(input, input);
      previous = input;
    }
    if (c.data_format !== undefined && c.data_format !== 'channels_last') fail('UNSUPPORTED', `${where}: data_format "${String(c.data_format)}"; relprop reads channels_last Keras models`);
    const ins = functional ? inboundOf(layer, where) : previous === null ? [] : [previous];
    const src = ins.map((l) => {
      const v = value.get(l);
      if (v === undefined) fail('BAD_MODEL', `${where} reads "${l}", which is not an earlier layer`);
      return v;
    });
    const converter = Object.hasOwn(CONVERTERS, layer.class_name) ? CONVERTERS[layer.class_name] : undefined;
    if (!converter) fail('UNSUPPORTED', `${where}: layer type "${layer.class_name}" is not supported; relprop reads ${KERAS_LAYERS.join(', ')}`);
    value.set(name, converter(new KerasLayer(name, layer.class_name, c, src, reading)));
    previous = name;
  }
  if (!reading.inputHWC) fail('UNSUPPORTED', 'Keras model has no InputLayer with a fixed input shape');
  const output = functional ? value.get(outputs[0]) : value.get(previous!);
  if (output === undefined) fail('BAD_MODEL', `Keras model: output layer "${outputs[0]}" is not a layer of the model`);
  return { graph: reading.emitter.graph(output), inputHWC: reading.inputHWC };
}
