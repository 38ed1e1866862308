/**
 * ONNX tensors as relprop reads them: float32 data (raw, repeated, or in an external data file, of which
 * only the declared bytes are read) and int64/int32 shapes, each size checked against the data it
 * points to before anything is allocated.
 */
import { TensorProto_DataLocation, TensorProto_DataType, type TensorProto } from 'onnx-buf';
import { fail } from '../../errors.js';
import { checkFinite, elementCount, floatsLE } from '../tensor.js';

/** Reads `length` bytes (to the end without one) at `offset` of an external data file the model names. */
export type ReadExternal = (location: string, offset: number, length: number | undefined) => Uint8Array;

/** A constant tensor: float data as float32, integer data as numbers. */
export interface Constant {
  dims: number[];
  floats?: Float32Array;
  ints?: number[];
}

export class TensorReader {
  constructor(private readonly readExternal?: ReadExternal) {}

  read(t: TensorProto, where: string): Constant {
    const dims = t.dims.map((d) => Number(d));
    const count = elementCount(dims, where);
    let raw: Uint8Array | null = t.rawData.byteLength > 0 ? t.rawData : null;
    if (t.dataLocation === TensorProto_DataLocation.EXTERNAL) raw = this.external(t, where);
    switch (t.dataType) {
      case TensorProto_DataType.FLOAT: {
        let floats: Float32Array;
        if (raw) floats = floatsLE(raw, count, where);
        else {
          if (t.floatData.length !== count) fail('BAD_MODEL', `${where} has ${t.floatData.length} float values for shape [${dims}] (${count})`);
          floats = Float32Array.from(t.floatData);
        }
        return { dims, floats: checkFinite(floats, where) };
      }
      case TensorProto_DataType.INT64:
      case TensorProto_DataType.INT32: {
        const width = t.dataType === TensorProto_DataType.INT64 ? 8 : 4;
        let ints: number[];
        if (raw) {
          if (raw.byteLength !== count * width) fail('BAD_MODEL', `${where} holds ${raw.byteLength} bytes, expected ${count * width}`);
          const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
          ints = Array.from({ length: count }, (_, i) => (width === 8 ? Number(view.getBigInt64(i * 8, true)) : view.getInt32(i * 4, true)));
        } else {
          const src = width === 8 ? t.int64Data.map(Number) : t.int32Data;
          if (src.length !== count) fail('BAD_MODEL', `${where} has ${src.length} integer values for shape [${dims}] (${count})`);
          ints = [...src];
        }
        return { dims, ints };
      }
      default:
        return fail('UNSUPPORTED', `${where} has data type ${TensorProto_DataType[t.dataType] ?? t.dataType}; relprop reads float32 weights (and int64/int32 shapes)`);
    }
  }

  private external(t: TensorProto, where: string): Uint8Array {
    const entries = new Map(t.externalData.map((e) => [e.key, e.value]));
    const location = entries.get('location');
    if (!location) fail('BAD_MODEL', `${where} is stored externally but names no location`);
    if (!this.readExternal) fail('BAD_MODEL', `${where} is stored in the external file "${location}"; load the model from a path so its data files can be read`);
    const offset = Number(entries.get('offset') ?? 0);
    const length = entries.has('length') ? Number(entries.get('length')) : undefined;
    if (!Number.isSafeInteger(offset) || offset < 0 || (length !== undefined && (!Number.isSafeInteger(length) || length < 0))) {
      fail('BAD_MODEL', `${where}: external data offset ${entries.get('offset')} length ${entries.get('length')} are not byte counts`);
    }
    // Only the declared bytes are read, never the whole file (which may be a link or a device).
    return this.readExternal(location, offset, length);
  }

}

