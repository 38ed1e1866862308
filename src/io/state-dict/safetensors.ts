/**
 * safetensors (huggingface/safetensors): an 8-byte little-endian header length N, N bytes of JSON
 * { name: { dtype, shape, data_offsets: [begin, end] }, __metadata__? }, then the tensors' bytes. Every
 * declared size is checked against the file before anything is allocated; tensors may not overlap or
 * leave gaps (as the format's own validation requires).
 */
import { fail } from '../../errors.js';
import { checkFinite, decodeFloats, elementCount, type FloatType } from '../tensor.js';
import type { Tensors } from './tensors.js';

/** A header longer than this is not a state dict's (the format's reference reader caps it at 100 MB). */
const MAX_HEADER_BYTES = 100_000_000;

const WIDTH: Record<FloatType, number> = { F32: 4, F16: 2, BF16: 2, F64: 8 };

export function readSafetensors(bytes: Uint8Array, where = 'safetensors file'): Tensors {
  if (bytes.byteLength < 8) fail('BAD_MODEL', `${where}: ${bytes.byteLength} bytes, shorter than the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(view.getBigUint64(0, true));
  if (n > MAX_HEADER_BYTES || n > bytes.byteLength - 8) fail('BAD_MODEL', `${where}: declares a ${n}-byte header in a ${bytes.byteLength}-byte file`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n)));
  } catch (e) {
    return fail('BAD_MODEL', `${where}: the header is not JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('BAD_MODEL', `${where}: the header is not a JSON object`);
  const data = bytes.subarray(8 + n);
  const entries = Object.entries(header as Record<string, unknown>).filter(([name]) => name !== '__metadata__');
  const spans: [number, number, string][] = [];
  const out: Tensors = new Map();
  for (const [name, spec] of entries) {
    const w = `${where}: tensor "${name}"`;
    const s = spec as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof s !== 'object' || s === null || typeof s.dtype !== 'string' || !Array.isArray(s.shape) || !Array.isArray(s.data_offsets) || s.data_offsets.length !== 2) {
      fail('BAD_MODEL', `${w} needs "dtype", "shape" and two "data_offsets"`);
    }
    const [begin, end] = s.data_offsets as unknown[];
    if (!Number.isSafeInteger(begin) || !Number.isSafeInteger(end) || (begin as number) < 0 || (end as number) < (begin as number) || (end as number) > data.byteLength) {
      fail('BAD_MODEL', `${w}: data_offsets ${JSON.stringify(s.data_offsets)} lie outside the ${data.byteLength} bytes of data`);
    }
    const shape = s.shape as number[];
    const count = elementCount(shape, w);
    const width = WIDTH[s.dtype as FloatType];
    if (!width) {
      // Integer tensors (BatchNorm's num_batches_tracked) hold no weights relprop reads.
      if (/^[IU](8|16|32|64)$|^BOOL$/.test(s.dtype)) {
        spans.push([begin as number, end as number, name]);
        continue;
      }
      fail('UNSUPPORTED', `${w} has dtype ${s.dtype}; relprop reads F32, F16, BF16 and F64 weights`);
    }
    if ((end as number) - (begin as number) !== count * width) fail('BAD_MODEL', `${w}: shape [${shape}] of ${s.dtype} needs ${count * width} bytes, data_offsets give ${(end as number) - (begin as number)}`);
    spans.push([begin as number, end as number, name]);
    out.set(name, { shape, data: checkFinite(decodeFloats(data.subarray(begin as number, end as number), s.dtype as FloatType, count), w) });
  }
  spans.sort((a, b) => a[0] - b[0]);
  let at = 0;
  for (const [begin, end, name] of spans) {
    if (begin !== at) fail('BAD_MODEL', `${where}: tensor "${name}" starts at byte ${begin} of the data, where ${at} was expected (tensors must not overlap or leave gaps)`);
    at = end;
  }
  if (at !== data.byteLength) fail('BAD_MODEL', `${where}: ${data.byteLength - at} bytes after the last tensor`);
  return out;
}
