import { fail } from '../errors.js';

/** Checks an input batch and returns it as float32; names the first bad value with its position. */
export function checkInput(input: unknown, shape: readonly number[], batchOption: number | undefined): { x: Float32Array; batch: number } {
  if (!(input instanceof Float32Array || input instanceof Float64Array || Array.isArray(input))) {
    fail('BAD_INPUT', `input must be a Float32Array (NCHW), got ${input === null ? 'null' : typeof input === 'object' ? (input as object).constructor?.name ?? 'object' : typeof input}`);
  }
  const batch = batchOption ?? 1;
  if (!Number.isInteger(batch) || batch < 1) fail('BAD_INPUT', `batch must be a positive integer, got ${batchOption}`);
  const per = shape.reduce((a, b) => a * b, 1);
  const arr = input as ArrayLike<number>;
  if (arr.length !== batch * per) {
    const hint = batchOption === undefined && arr.length % per === 0 ? ` (it holds ${arr.length / per} images: pass { batch: ${arr.length / per} })` : '';
    fail('BAD_INPUT', `input has ${arr.length} values; the model expects batch x ${shape.join(' x ')} = ${batch} x ${per} = ${batch * per}${hint}`);
  }
  // Typed arrays are checked in one monomorphic pass first; the element-wise loop below only runs to
  // name the first bad value (or for plain arrays).
  const typed = input instanceof Float32Array || input instanceof Float64Array;
  if (!typed || !allFinite(input)) for (let i = 0; i < arr.length; i++) {
    const v = arr[i];
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      fail('BAD_INPUT', `input[${i}] is ${String(v)} (image ${Math.floor(i / per)}, ${position(i % per, shape)}); inputs must be finite numbers`);
    }
  }
  return { x: input instanceof Float32Array ? input : Float32Array.from(arr), batch };
}

/**
 * v - v is 0 for every finite number and NaN for NaN and the infinities (an array-like loop with
 * Number.isFinite took about 3 ms an image, as long as a few layers).
 */
function allFinite(a: Float32Array | Float64Array): boolean {
  let bad = 0;
  for (let i = 0; i < a.length; i++) bad += a[i] - a[i];
  return bad === 0;
}

function position(i: number, shape: readonly number[]): string {
  if (shape.length !== 3) return `element ${i}`;
  const [, h, w] = shape;
  return `channel ${Math.floor(i / (h * w))}, row ${Math.floor(i / w) % h}, column ${i % w}`;
}

/** One target class per image: defaults to each image's top-1 class. */
export function resolveTargets(target: unknown, logits: ArrayLike<number>, batch: number, numClasses: number, labels?: readonly string[]): number[] {
  const argmax = (b: number) => {
    let best = 0;
    for (let k = 1; k < numClasses; k++) if (logits[b * numClasses + k] > logits[b * numClasses + best]) best = k;
    return best;
  };
  if (target === undefined || target === null) return Array.from({ length: batch }, (_, b) => argmax(b));
  const list = Array.isArray(target) ? target : Array.from({ length: batch }, () => target);
  if (list.length !== batch) fail('BAD_TARGET', `got ${list.length} targets for a batch of ${batch} images`);
  return list.map((t, b) => {
    if (typeof t === 'string' && labels) {
      const k = labels.indexOf(t);
      if (k < 0) fail('BAD_TARGET', `unknown class label "${t}"`);
      return k;
    }
    if (typeof t !== 'number' || !Number.isInteger(t) || t < 0 || t >= numClasses) {
      fail('BAD_TARGET', `target ${JSON.stringify(t)}${batch > 1 ? ` (image ${b})` : ''} is not a class index: the model has classes 0..${numClasses - 1}`);
    }
    return t;
  });
}
