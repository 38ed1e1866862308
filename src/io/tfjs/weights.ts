/**
 * TF.js weights: a model.json's weightsManifest (groups of named, shaped weights laid end to end over
 * shard files), float32 as they are or quantized (uint8/uint16 affine, float16), and the int32
 * constants of graph models. Shared by the Keras (layers) and the graph-model importers.
 */
import { fail } from '../../errors.js';
import { checkFinite, elementCount, half } from '../tensor.js';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export interface WeightSpec {
  name: string;
  shape: number[];
  dtype: string;
  /** TF.js weight quantization: uint8/uint16 values v stand for v * scale + min; float16 for themselves. */
  quantization?: { dtype?: unknown; scale?: unknown; min?: unknown; original_dtype?: unknown };
}

/** Bytes per stored value of a weight: 4, or its quantized width. */
function storedBytes(w: WeightSpec, where: string): 1 | 2 | 4 {
  const q = w.quantization;
  if (!q) return 4;
  if (!isObject(q)) return fail('BAD_MODEL', `${where}: quantization is not an object`);
  if (q.dtype === 'float16') return 2;
  if (q.dtype !== 'uint8' && q.dtype !== 'uint16') return fail('UNSUPPORTED', `${where} is quantized as ${JSON.stringify(q.dtype)}; relprop reads uint8, uint16 and float16 quantization`);
  if (typeof q.scale !== 'number' || typeof q.min !== 'number' || !Number.isFinite(q.scale) || !Number.isFinite(q.min)) {
    return fail('BAD_MODEL', `${where}: ${q.dtype} quantization needs finite numbers "scale" and "min"`);
  }
  return q.dtype === 'uint8' ? 1 : 2;
}

/** A quantized weight's values as TF.js dequantizes them: v * scale + min in float64, stored as float32. */
function dequantize(bytes: Uint8Array, w: WeightSpec, count: number): Float32Array {
  const q = w.quantization!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(count);
  if (q.dtype === 'float16') for (let i = 0; i < count; i++) out[i] = half(view.getUint16(2 * i, true));
  else if (q.dtype === 'uint8') for (let i = 0; i < count; i++) out[i] = bytes[i] * (q.scale as number) + (q.min as number);
  else for (let i = 0; i < count; i++) out[i] = view.getUint16(2 * i, true) * (q.scale as number) + (q.min as number);
  return out;
}
export interface WeightGroup {
  paths: string[];
  weights: WeightSpec[];
}

/** Reads a weight shard the model names; it must fail if the shard holds more than `limit` bytes. */
export type ShardReader = (path: string, limit: number) => Uint8Array | Promise<Uint8Array>;


export async function readWeights(manifest: WeightGroup[], readShard: ShardReader): Promise<Map<string, { shape: number[]; data: Float32Array }>> {
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const group of manifest) {
    let declared = 0;
    for (const w of group.weights) {
      const where = `weight "${w.name}"`;
      if (w.dtype !== 'float32' && w.dtype !== 'int32') fail('UNSUPPORTED', `${where} has dtype ${w.dtype}; relprop reads float32 weights (quantized or not) and int32 constants`);
      if (w.dtype === 'int32' && w.quantization) fail('UNSUPPORTED', `${where}: a quantized int32 constant`);
      declared += elementCount(w.shape, where) * storedBytes(w, where);
    }
    const shards: Uint8Array[] = [];
    let total = 0;
    for (const p of group.paths) {
      // No shard may hold more than what the group still lacks: a link to a device cannot fill memory.
      const bytes = await readShard(p, declared - total);
      shards.push(bytes);
      total += bytes.byteLength;
    }
    if (total !== declared) {
      const names = group.paths.length <= 3 ? group.paths.join(', ') : `${group.paths[0]} ... ${group.paths[group.paths.length - 1]} (${group.paths.length} files)`;
      fail('BAD_MODEL', `weight shards ${names} hold ${total} bytes; model.json declares ${declared} (a truncated or mismatched download?)`);
    }
    // No concatenated copy of the whole model: a large weight inside one shard is a view of it (kernels
    // are converted to relprop's layout right away, after which the shard can go); other weights are
    // copied out of the shards they span, so that small ones, kept as they are, hold no shard alive.
    let offset = 0;
    for (const w of group.weights) {
      const where = `weight "${w.name}"`;
      const count = elementCount(w.shape, where);
      const width = storedBytes(w, where);
      let data: Float32Array;
      if (w.dtype === 'int32') {
        // Graph models' shape and axis constants: small integers, exact in float32.
        const ints = new Int32Array(count);
        copyRange(shards, offset, new Uint8Array(ints.buffer));
        data = Float32Array.from(ints);
      } else if (width === 4) {
        const view = count >= VIEW_MIN_ELEMENTS ? viewIn(shards, offset, count) : null;
        data = view ?? new Float32Array(count);
        if (!view) copyRange(shards, offset, new Uint8Array(data.buffer));
      } else {
        const stored = new Uint8Array(count * width);
        copyRange(shards, offset, stored);
        data = dequantize(stored, w, count);
      }
      offset += count * width;
      out.set(w.name, { shape: w.shape, data: checkFinite(data, where) });
    }
  }
  return out;
}

/** Weights of at least this many floats (256 KB) may be views of their shard: kernels, not biases. */
const VIEW_MIN_ELEMENTS = 65536;

/** `count` floats at `offset` of the shards laid end to end, as a view, if they lie in one shard, aligned. */
function viewIn(shards: Uint8Array[], offset: number, count: number): Float32Array | null {
  for (const shard of shards) {
    if (offset < shard.byteLength) {
      const at = shard.byteOffset + offset;
      return offset + count * 4 <= shard.byteLength && at % 4 === 0 ? new Float32Array(shard.buffer, at, count) : null;
    }
    offset -= shard.byteLength;
  }
  return null;
}

/** Copies dest.length bytes starting at `offset` of the shards laid end to end. */
function copyRange(shards: Uint8Array[], offset: number, dest: Uint8Array): void {
  let done = 0;
  for (const shard of shards) {
    if (done === dest.length) return;
    if (offset >= shard.byteLength) {
      offset -= shard.byteLength;
      continue;
    }
    const n = Math.min(shard.byteLength - offset, dest.length - done);
    dest.set(shard.subarray(offset, offset + n), done);
    done += n;
    offset = 0;
  }
}
