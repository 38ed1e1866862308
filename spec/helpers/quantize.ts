/**
 * TF.js weight quantization as tensorflowjs_converter writes it, for the specs that make quantized
 * models (spec/keras.mobilenet.spec.ts, spec/helpers/graph-models.ts): affine uint8/uint16 over the
 * tensor's [min, max], or float16.
 */
export type Quantization = 'uint8' | 'uint16' | 'float16' | undefined;

/** float32 to IEEE binary16 bits, rounding to nearest even (as numpy's astype(float16)). */
export function toHalf(v: number): number {
  const f = new Float32Array([v]);
  const x = new Uint32Array(f.buffer)[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = ((x >>> 23) & 0xff) - 127 + 15;
  let mant = x & 0x7fffff;
  if (exp <= 0) {
    if (exp < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - exp;
    const half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    return sign | (rem > mid || (rem === mid && half & 1) ? half + 1 : half);
  }
  const rounded = mant + 0xfff + ((mant >>> 13) & 1);
  if (rounded & 0x800000) return exp + 1 >= 31 ? sign | 0x7c00 : sign | ((exp + 1) << 10);
  return exp >= 31 ? sign | 0x7c00 : sign | (exp << 10) | (rounded >>> 13);
}

/** One tensor's stored bytes and its manifest `quantization` entry. */
export function quantizeTensor(values: ArrayLike<number>, dtype: Exclude<Quantization, undefined>): { bytes: Uint8Array; quantization: Record<string, unknown> } {
  if (dtype === 'float16') return { bytes: new Uint8Array(Uint16Array.from(values, toHalf).buffer), quantization: { dtype, original_dtype: 'float32' } };
  const levels = dtype === 'uint8' ? 255 : 65535;
  const all = Array.from(values);
  const min = Math.min(...all);
  const max = Math.max(...all);
  const scale = max > min ? (max - min) / levels : 1;
  const q = all.map((v) => Math.round((v - min) / scale));
  return { bytes: dtype === 'uint8' ? Uint8Array.from(q) : new Uint8Array(Uint16Array.from(q).buffer), quantization: { dtype, scale, min, original_dtype: 'float32' } };
}
