/**
 * TensorFlow's channels-last layouts into relprop's NCHW ones, shared by the Keras and the TF.js graph
 * importers.
 */

/** A conv kernel [kh, kw, cin / groups, cout] (HWIO) as [cout, cin / groups, kh, kw]. */
export function convKernelFromHWIO(k: Float32Array, kh: number, kw: number, cinG: number, cout: number): Float32Array {
  const weight = new Float32Array(k.length);
  for (let i = 0; i < kh; i++)
    for (let j = 0; j < kw; j++)
      for (let ci = 0; ci < cinG; ci++) for (let co = 0; co < cout; co++) weight[((co * cinG + ci) * kh + i) * kw + j] = k[((i * kw + j) * cinG + ci) * cout + co];
  return weight;
}

/** A depthwise kernel [kh, kw, cin, mult] as a grouped conv's [cin * mult, 1, kh, kw]: output ci * mult + m reads channel ci. */
export function depthwiseKernelFromHWCM(k: Float32Array, kh: number, kw: number, cin: number, mult: number): Float32Array {
  const weight = new Float32Array(k.length);
  for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) for (let ci = 0; ci < cin; ci++) for (let m = 0; m < mult; m++) weight[((ci * mult + m) * kh + i) * kw + j] = k[((i * kw + j) * cin + ci) * mult + m];
  return weight;
}

/** Index in a flattened [H, W, C] map of element r of the flattened [C, H, W] map. */
export function nchwToNhwcIndex(r: number, [ch, h, w]: readonly [number, number, number]): number {
  const c = Math.floor(r / (h * w));
  const rest = r % (h * w);
  return rest * ch + c;
}

/**
 * A dense kernel stored [in, out] as relprop's [out, in]; with `flattenedFrom`, its rows are in the
 * order of a flattened NHWC map of that [C, H, W] shape and are reordered to NCHW's.
 */
export function denseKernelFromInOut(k: Float32Array, nin: number, units: number, flattenedFrom?: readonly [number, number, number]): Float32Array {
  const row = flattenedFrom ? (r: number) => nchwToNhwcIndex(r, flattenedFrom) : (r: number) => r;
  const weight = new Float32Array(k.length);
  for (let o = 0; o < units; o++) for (let r = 0; r < nin; r++) weight[o * nin + r] = k[row(r) * units + o];
  return weight;
}
