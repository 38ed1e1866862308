import { fail } from '../errors.js';
import type { BoundSpec, Vec } from './types.js';

/**
 * Expands a z-box bound to one value per element of a batch: a number everywhere, one value per channel,
 * or one per element of a sample (repeated for every sample).
 */
export function expandBound(spec: BoundSpec, batch: number, shape: readonly number[], what: string): Vec {
  const per = shape.reduce((a, b) => a * b, 1);
  const out = new Float64Array(batch * per);
  if (typeof spec === 'number') {
    if (!Number.isFinite(spec)) fail('BAD_OPTION', `${what} must be a finite number, got ${spec}`);
    return out.fill(spec);
  }
  const values = Array.from(spec);
  if (values.some((v) => !Number.isFinite(v))) fail('BAD_OPTION', `${what} holds a value that is not a finite number`);
  const channels = shape[0];
  const plane = per / channels;
  if (values.length === channels) {
    for (let i = 0; i < out.length; i++) out[i] = values[Math.floor(i / plane) % channels];
  } else if (values.length === per) {
    for (let n = 0; n < batch; n++) out.set(values, n * per);
  } else {
    fail('BAD_OPTION', `${what} has ${values.length} values; give one number, ${channels} (one per channel) or ${per} (one per input element)`);
  }
  return out;
}

/** Each sample's own minimum and maximum, spread over the sample: z-box's fallback bounds. */
export function sampleRange(x: Vec, batch: number): { low: Vec; high: Vec } {
  const per = x.length / batch;
  const low = new Float64Array(x.length);
  const high = new Float64Array(x.length);
  for (let n = 0; n < batch; n++) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = n * per; i < (n + 1) * per; i++) {
      lo = Math.min(lo, x[i]);
      hi = Math.max(hi, x[i]);
    }
    low.fill(lo, n * per, (n + 1) * per);
    high.fill(hi, n * per, (n + 1) * per);
  }
  return { low, high };
}
