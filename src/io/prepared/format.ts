/**
 * relprop's prepared model format: a model's graph as relprop holds it after import (weights in its
 * own layout, already converted from HWIO, float16 or pickles, and checked), so a later load skips
 * the importer and reads the weights with no conversion. One file:
 *
 *   bytes 0-7    "RELPROPM"
 *   bytes 8-11   the format version (u32, little-endian): PREPARED_VERSION
 *   bytes 12-15  n, the header's length in bytes (u32)
 *   bytes 16-    the header: n bytes of UTF-8 JSON (PreparedHeader), then zeros up to a multiple of 64
 *   then         the tensors, each at a multiple of 64 bytes from the start of the file, little-endian
 *
 * The header holds the graph (its input, output and nodes; a node's typed arrays replaced by
 * {"$tensor": i}, a number JSON cannot write by {"$number": "Infinity" | "-Infinity" | "NaN" | "-0"}),
 * what the model's info says that the source gave (arch, labels, preprocessing), and where it came
 * from (PreparedSource) so that a stale one is never used. Reading checks everything before it trusts
 * it: the magic, the version, the header's length against the file's, every tensor's type, alignment
 * and bounds, the graph (as any imported graph) and the weights' finiteness.
 */
import { fail, RelpropError } from '../../errors.js';
import { Graph, type GraphInput } from '../../graph/graph.js';
import type { GraphNode } from '../../graph/nodes.js';
import type { ModelInfo } from '../../model/model.js';

export const PREPARED_VERSION = 1;
const MAGIC = 'RELPROPM';
const PROLOGUE = 16;
const ALIGN = 64;
/** Largest header read: a graph of tens of thousands of nodes is a few MB. */
const MAX_HEADER_BYTES = 64 * 1024 ** 2;

/** What a prepared model was made from, to tell whether it is still that. */
export interface PreparedSource {
  /** The relprop version and build that made it: another importer could make another graph. */
  relprop: string;
  /** What the source was: a known model's name and version, or a file's absolute path. */
  from: string;
  /** The source's files (the model file first), as found when it was made. */
  files: { path: string; size: number; mtimeMs: number; sha256: string }[];
  /** Load options that change the graph (an input size for a model that leaves it free). */
  inputShape?: readonly number[];
}

interface TensorEntry {
  type: 'f32' | 'f64';
  /** Bytes from the start of the file. */
  offset: number;
  length: number;
}

export interface PreparedHeader {
  format: 'relprop-prepared';
  source: PreparedSource;
  /** What the loader adds to the model's info (before the caller's options apply), and why a preprocessing is a guess. */
  info: { extra: Partial<ModelInfo>; guess?: string };
  input: GraphInput;
  output: string;
  nodes: unknown[];
  tensors: TensorEntry[];
}

/** A prepared model as read: its graph and the source's info. */
export interface Prepared {
  graph: Graph;
  header: PreparedHeader;
}

const align = (n: number) => Math.ceil(n / ALIGN) * ALIGN;

/** The prepared file of a graph. */
export function encodePrepared(graph: Graph, info: PreparedHeader['info'], source: PreparedSource): Uint8Array {
  const arrays: (Float32Array | Float64Array)[] = [];
  const encode = (_key: string, v: unknown): unknown => {
    if (v instanceof Float32Array || v instanceof Float64Array) {
      arrays.push(v);
      return { $tensor: arrays.length - 1 };
    }
    if (typeof v === 'number' && (!Number.isFinite(v) || Object.is(v, -0))) return { $number: Object.is(v, -0) ? '-0' : String(v) };
    if (ArrayBuffer.isView(v)) return fail('BAD_GRAPH', `a node holds a ${v.constructor.name}, which the prepared format does not store`);
    return v;
  };
  const nodes = JSON.parse(JSON.stringify(graph.nodes, encode)) as unknown[];
  // The offsets depend on the header's length, which depends on the offsets' digits: lay the data out
  // after a header sized with room to spare, then pad the header to it.
  const layout = (start: number): TensorEntry[] => {
    let at = start;
    return arrays.map((a) => {
      const entry: TensorEntry = { type: a instanceof Float32Array ? 'f32' : 'f64', offset: at, length: a.length };
      at = align(at + a.byteLength);
      return entry;
    });
  };
  const headerOf = (tensors: TensorEntry[]): Uint8Array => new TextEncoder().encode(JSON.stringify({ format: 'relprop-prepared', source, info, input: graph.input, output: graph.output, nodes, tensors } satisfies PreparedHeader));
  const estimate = headerOf(layout(0)).byteLength + 16 * arrays.length + 64;
  const dataStart = align(PROLOGUE + estimate);
  const tensors = layout(dataStart);
  const header = headerOf(tensors);
  if (PROLOGUE + header.byteLength > dataStart) fail('BAD_GRAPH', 'the prepared header outgrew its estimate');
  const end = tensors.length ? tensors[tensors.length - 1].offset + arrays[arrays.length - 1].byteLength : dataStart;
  const out = new Uint8Array(end);
  out.set(new TextEncoder().encode(MAGIC), 0);
  const view = new DataView(out.buffer);
  view.setUint32(8, PREPARED_VERSION, true);
  view.setUint32(12, header.byteLength, true);
  out.set(header, PROLOGUE);
  arrays.forEach((a, i) => out.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), tensors[i].offset));
  return out;
}

/** The header of a prepared file (its first bytes suffice: PROLOGUE + the length at 12). */
export function readPreparedHeader(bytes: Uint8Array, where: string): PreparedHeader {
  if (bytes.byteLength < PROLOGUE || new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC) fail('BAD_MODEL', `${where} is not a prepared relprop model (no RELPROPM at its start)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(8, true);
  if (version !== PREPARED_VERSION) fail('BAD_MODEL', `${where} is a prepared model of format version ${version}; this relprop reads version ${PREPARED_VERSION}`);
  const n = view.getUint32(12, true);
  if (n > MAX_HEADER_BYTES || PROLOGUE + n > bytes.byteLength) fail('BAD_MODEL', `${where}: its header says ${n} bytes, ${bytes.byteLength - PROLOGUE} follow`);
  let header: PreparedHeader;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(PROLOGUE, PROLOGUE + n)));
  } catch (e) {
    return fail('BAD_MODEL', `${where}: its header is not JSON (${(e as Error).message})`);
  }
  const object = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!object(header) || header.format !== 'relprop-prepared' || !object(header.source) || !object(header.info) || !object(header.input) || typeof header.output !== 'string' || !Array.isArray(header.nodes) || !Array.isArray(header.tensors)) {
    fail('BAD_MODEL', `${where}: its header lacks the graph, its tensors or its source`);
  }
  return header;
}

/** Reads a prepared file: the graph over views of `bytes` (no copy where they are aligned), checked. */
export function decodePrepared(bytes: Uint8Array, where: string): Prepared {
  try {
    return decode(bytes, where);
  } catch (e) {
    // A damaged header can give a node any shape: whatever the graph's checks trip on is the file's fault.
    if (e instanceof RelpropError && e.code === 'BAD_MODEL') throw e;
    throw new RelpropError('BAD_MODEL', `${where}: ${(e as Error).message}`);
  }
}

function decode(bytes: Uint8Array, where: string): Prepared {
  const header = readPreparedHeader(bytes, where);
  const arrays = header.tensors.map((t, i) => tensorOf(bytes, t, i, where));
  const used = new Set<number>();
  const decode = (_key: string, v: unknown): unknown => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return v;
    const keys = Object.keys(v);
    if (keys.length === 1 && keys[0] === '$tensor') {
      const i = (v as { $tensor: unknown }).$tensor;
      if (!Number.isInteger(i) || (i as number) < 0 || (i as number) >= arrays.length) fail('BAD_MODEL', `${where}: a node names tensor ${String(i)} of ${arrays.length}`);
      if (used.has(i as number)) fail('BAD_MODEL', `${where}: tensor ${String(i)} is named twice`);
      used.add(i as number);
      return arrays[i as number];
    }
    if (keys.length === 1 && keys[0] === '$number') {
      const s = (v as { $number: unknown }).$number;
      if (s === '-0') return -0;
      if (s === 'Infinity' || s === '-Infinity' || s === 'NaN') return Number(s);
      return fail('BAD_MODEL', `${where}: ${JSON.stringify(s)} is not a number`);
    }
    return v;
  };
  const nodes = JSON.parse(JSON.stringify(header.nodes), decode) as GraphNode[];
  const input = header.input;
  // The graph checks names, order, shapes and weight lengths as for any import.
  const graph = new Graph({ name: String(input.name), shape: Array.isArray(input.shape) ? input.shape.map(Number) : [] }, nodes, header.output);
  return { graph, header };
}

function tensorOf(bytes: Uint8Array, t: TensorEntry, i: number, where: string): Float32Array | Float64Array {
  const size = t?.type === 'f32' ? 4 : t?.type === 'f64' ? 8 : 0;
  if (!size) return fail('BAD_MODEL', `${where}: tensor ${i} has type ${JSON.stringify(t?.type)} (f32 or f64)`);
  if (!Number.isSafeInteger(t.offset) || !Number.isSafeInteger(t.length) || t.offset < PROLOGUE || t.offset % ALIGN !== 0 || t.length < 0 || t.offset + t.length * size > bytes.byteLength) {
    return fail('BAD_MODEL', `${where}: tensor ${i} (${t.length} values at ${t.offset}) is not inside the file's ${bytes.byteLength} bytes at a multiple of ${ALIGN}`);
  }
  const at = bytes.byteOffset + t.offset;
  // A file read whole starts its own buffer; a slice of another may not be aligned for a view.
  const buffer = at % size === 0 ? bytes.buffer : bytes.slice(t.offset, t.offset + t.length * size).buffer;
  const start = at % size === 0 ? at : 0;
  const values = size === 4 ? new Float32Array(buffer, start, t.length) : new Float64Array(buffer, start, t.length);
  checkFiniteFast(values, where, i);
  return values;
}

/**
 * Refuses non-finite weights, as the importers do (a damaged file could hold them). x * 0 is 0 for
 * every finite x and NaN otherwise, so four running sums of it stay 0 exactly when all are finite: 25
 * ms for ResNet-50's 25.6 million weights here, against 45 for a test of each value's exponent bits.
 */
function checkFiniteFast(values: Float32Array | Float64Array, where: string, i: number): void {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  const n = values.length & ~3;
  for (let k = 0; k < n; k += 4) {
    s0 += values[k] * 0;
    s1 += values[k + 1] * 0;
    s2 += values[k + 2] * 0;
    s3 += values[k + 3] * 0;
  }
  for (let k = n; k < values.length; k++) s0 += values[k] * 0;
  if (s0 + s1 + s2 + s3 === 0) return;
  const k = values.findIndex((v) => !Number.isFinite(v));
  fail('BAD_MODEL', `${where}: tensor ${i} holds a non-finite value (${values[k]}) at index ${k}`);
}
