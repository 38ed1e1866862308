import { fail } from './errors.js';

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

/**
 * The class one target names: an index (a number, or a string of digits), a label (case-, space- and
 * underscore-insensitive, as "egyptian cat" for "Egyptian_cat"), or undefined for 'top1' (the image's
 * top class, known once the logits are). The library and the CLI both resolve targets here.
 */
export function classOf(target: unknown, numClasses: number, labels: readonly string[] | undefined, where = ''): number | undefined {
  if (target === undefined || target === null || target === 'top1') return undefined;
  const shown = typeof target === 'string' ? `"${target}"` : typeof target === 'number' ? String(target) : JSON.stringify(target) ?? String(target);
  const index = typeof target === 'number' ? target : typeof target === 'string' && /^\s*\d+\s*$/.test(target) ? Number(target) : undefined;
  if (index !== undefined) {
    if (!Number.isInteger(index) || index < 0 || index >= numClasses) {
      fail('BAD_TARGET', `target ${shown}${where} is not a class index: the model has classes 0..${numClasses - 1}`);
    }
    return index;
  }
  if (typeof target !== 'string') return fail('BAD_TARGET', `target ${shown}${where} is not a class index or label`);
  const key = (l: string) => l.toLowerCase().trim().replace(/[\s_-]+/g, '_');
  const i = labels ? labels.findIndex((l) => key(l) === key(target)) : -1;
  if (i >= 0) return i;
  if (!labels?.length) return fail('BAD_TARGET', `target ${shown}${where}: this model has no labels; give a class index 0..${numClasses - 1}`);
  const near = labels.filter((l) => key(l).includes(key(target)) || key(target).includes(key(l))).slice(0, 8);
  return fail('BAD_TARGET', `unknown label ${shown}${where}${near.length ? `; did you mean ${near.map((l) => `"${l}"`).join(', ')}?` : ''} (give a label of the model, a class index or 'top1')`);
}

/** One target per image (undefined: its top-1 class), checked before anything runs. */
export function parseTargets(target: unknown, batch: number, numClasses: number, labels?: readonly string[]): (number | undefined)[] {
  const list = Array.isArray(target) ? target : Array.from({ length: batch }, () => target);
  if (list.length !== batch) fail('BAD_TARGET', `got ${list.length} targets for a batch of ${batch} images`);
  return list.map((t, b) => classOf(t, numClasses, labels, batch > 1 ? ` (image ${b})` : ''));
}

/** Each image's target, its top-1 class where none was given. */
export function resolveTargets(targets: readonly (number | undefined)[], logits: ArrayLike<number>, numClasses: number): number[] {
  return targets.map((t, b) => {
    if (t !== undefined) return t;
    let best = 0;
    for (let k = 1; k < numClasses; k++) if (logits[b * numClasses + k] > logits[b * numClasses + best]) best = k;
    return best;
  });
}
