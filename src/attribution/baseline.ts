/** A baseline (integrated gradients' start): a number for every element, or an array of one image's or the whole batch's shape. */
import { fail } from '../errors.js';

export function baselineOf(spec: unknown, inputShape: readonly number[]): (batch: number) => Float32Array {
  const per = inputShape.reduce((a, b) => a * b, 1);
  if (spec === undefined || typeof spec === 'number') {
    const v = spec ?? 0;
    if (!Number.isFinite(v)) fail('BAD_OPTION', `baseline must be finite, got ${v}`);
    return (batch) => new Float32Array(batch * per).fill(v);
  }
  if (!(spec instanceof Float32Array || spec instanceof Float64Array || Array.isArray(spec))) {
    return fail('BAD_OPTION', `baseline must be a number or an array of the input's shape (${inputShape.join(' x ')}), got ${typeof spec}`);
  }
  const values = Float32Array.from(spec as ArrayLike<number>);
  if (values.length === 0 || values.length % per !== 0) fail('BAD_OPTION', `baseline has ${values.length} values; one image has ${inputShape.join(' x ')} = ${per}`);
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) fail('BAD_OPTION', `baseline[${i}] is ${values[i]}; it must be finite`);
  return (batch) => {
    if (values.length === per) {
      const out = new Float32Array(batch * per);
      for (let b = 0; b < batch; b++) out.set(values, b * per);
      return out;
    }
    if (values.length !== batch * per) fail('BAD_OPTION', `baseline holds ${values.length / per} images; the input holds ${batch}`);
    return values;
  };
}
