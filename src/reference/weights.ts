/** float64 copies of float32 weights, made once per array and kept as long as the array lives. */
const cache = new WeakMap<Float32Array, Float64Array>();

export function f64(a: Float32Array): Float64Array;
export function f64(a: Float32Array | null): Float64Array | null;
export function f64(a: Float32Array | null): Float64Array | null {
  if (a === null) return null;
  let out = cache.get(a);
  if (!out) {
    out = Float64Array.from(a);
    cache.set(a, out);
  }
  return out;
}
