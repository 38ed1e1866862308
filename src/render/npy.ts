import { fail } from '../errors.js';

/**
 * NumPy's .npy format, version 1.0: magic, a Python-literal header padded to a multiple of 64 bytes,
 * then little-endian float32 data in C order. `numpy.load` reads it as an array of that shape.
 */
export function encodeNpy(data: Float32Array, shape: readonly number[]): Uint8Array {
  if (shape.reduce((a, b) => a * b, 1) !== data.length) fail('BAD_INPUT', `shape [${shape}] does not hold ${data.length} values`);
  const dims = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${dims}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + header.length + data.byteLength);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]); // \x93NUMPY v1.0
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + header.length);
  return out;
}

/** Reads a little-endian float32 .npy file (C order), as encodeNpy writes and numpy.save does. */
export function decodeNpy(bytes: Uint8Array): { data: Float32Array; shape: number[] } {
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
  if (bytes.length < 10 || magic.some((b, i) => bytes[i] !== b)) fail('BAD_INPUT', 'not a .npy file (bad magic)');
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  const header = new TextDecoder().decode(bytes.subarray(start, start + headerLen));
  if (!/'descr':\s*'<f4'/.test(header) || /'fortran_order':\s*True/.test(header)) fail('UNSUPPORTED', `.npy header ${header.trim()}: only little-endian float32 in C order`);
  const m = /'shape':\s*\(([^)]*)\)/.exec(header);
  if (!m) fail('BAD_INPUT', '.npy header has no shape');
  const shape = m[1].split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  const n = shape.reduce((a, b) => a * b, 1);
  const body = bytes.subarray(start + headerLen);
  if (body.byteLength !== n * 4) fail('BAD_INPUT', `.npy data holds ${body.byteLength} bytes, shape [${shape}] needs ${n * 4}`);
  return { data: new Float32Array(body.slice().buffer), shape };
}
