import { transformKey, transformValue } from '../rules/transform.js';
import type { Transform } from '../rules/types.js';

/**
 * float64 copies of float32 weights under a rule's transform, made once per array and transform and
 * kept as long as the array lives. The reference engine trades memory for plainness here.
 */
const cache = new WeakMap<Float32Array | Float64Array, Map<string, Float64Array>>();

export function transformed(a: Float32Array | Float64Array, t: Transform = 'w'): Float64Array {
  let byKey = cache.get(a);
  if (!byKey) cache.set(a, (byKey = new Map()));
  const key = transformKey(t);
  let out = byKey.get(key);
  if (!out) {
    out = Float64Array.from(a, (w) => transformValue(t, w));
    byKey.set(key, out);
  }
  return out;
}

export function f64(a: Float32Array): Float64Array;
export function f64(a: Float32Array | null): Float64Array | null;
export function f64(a: Float32Array | null): Float64Array | null {
  return a === null ? null : transformed(a, 'w');
}
