import { fail } from '../errors.js';

/** Most elements a single imported tensor may declare (1 GiB of float32), checked before allocating. */
export const MAX_TENSOR_ELEMENTS = 2 ** 28;

/** Element count of a declared shape, refusing negative, fractional or absurd dimensions. */
export function elementCount(dims: readonly number[], where: string): number {
  let n = 1;
  for (const d of dims) {
    if (!Number.isSafeInteger(d) || d < 0) fail('BAD_MODEL', `${where} declares an invalid dimension ${d} in shape [${dims}]`);
    n *= d;
    if (n > MAX_TENSOR_ELEMENTS) fail('BAD_MODEL', `${where} declares shape [${dims}], more than ${MAX_TENSOR_ELEMENTS} elements`);
  }
  return n;
}

/** Little-endian float32s from bytes at any alignment (a copy, so the source can be released). */
export function floatsLE(bytes: Uint8Array, count: number, where: string): Float32Array {
  if (bytes.byteLength !== count * 4) fail('BAD_MODEL', `${where} holds ${bytes.byteLength} bytes, expected ${count * 4} for ${count} float32 values`);
  const out = new Float32Array(count);
  new Uint8Array(out.buffer).set(bytes);
  // Every platform relprop runs on is little-endian (wasm is by definition); a big-endian host would
  // need a byte swap here.
  return out;
}

/** Refuses NaN and infinities in weights: they would turn every explanation into NaN silently. */
export function checkFinite(values: Float32Array, where: string): Float32Array {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) fail('BAD_MODEL', `${where} holds a non-finite value (${values[i]}) at index ${i}`);
  }
  return values;
}

/** Transposes a row-major [rows, cols] matrix. */
export function transpose2d(m: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(m.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = m[r * cols + c];
  return out;
}

/** An IEEE binary16 (float16) value from its bits. */
export function half(bits: number): number {
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  const sign = bits & 0x8000 ? -1 : 1;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 31) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/** The float types weights files store, by safetensors' names. */
export type FloatType = 'F32' | 'F16' | 'BF16' | 'F64';

/** `count` little-endian (or, with `bigEndian`, big-endian) floats of `type` as float32, from any alignment. */
export function decodeFloats(bytes: Uint8Array, type: FloatType, count: number, bigEndian = false): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = !bigEndian;
  const out = new Float32Array(count);
  if (type === 'F32') for (let i = 0; i < count; i++) out[i] = view.getFloat32(4 * i, le);
  else if (type === 'F64') for (let i = 0; i < count; i++) out[i] = view.getFloat64(8 * i, le);
  else if (type === 'BF16') {
    const bits = new DataView(new ArrayBuffer(4));
    for (let i = 0; i < count; i++) {
      bits.setUint32(0, view.getUint16(2 * i, le) << 16);
      out[i] = bits.getFloat32(0);
    }
  } else for (let i = 0; i < count; i++) out[i] = half(view.getUint16(2 * i, le));
  return out;
}
