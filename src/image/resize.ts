/**
 * Antialiased bilinear resampling of float planes, as PIL's Image.resize(BILINEAR) (which Keras'
 * load_img and torchvision's Resize use on photos): a triangle filter widened by the downscale factor,
 * so every source pixel contributes when shrinking. Plain bilinear sampling would alias a 4000-pixel
 * photo down to 224 and change the prediction.
 */

interface Coefficients {
  start: Int32Array;
  count: Int32Array;
  weights: Float64Array;
  taps: number;
}

function coefficients(inSize: number, outSize: number): Coefficients {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filterScale; // the triangle filter's support is 1, widened when downscaling
  const taps = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Float64Array(outSize * taps);
  for (let o = 0; o < outSize; o++) {
    const center = (o + 0.5) * scale;
    const lo = Math.max(Math.trunc(center - support + 0.5), 0);
    const hi = Math.min(Math.trunc(center + support + 0.5), inSize);
    let total = 0;
    for (let i = lo; i < hi; i++) {
      const w = Math.max(0, 1 - Math.abs((i - center + 0.5) / filterScale));
      weights[o * taps + i - lo] = w;
      total += w;
    }
    for (let i = 0; i < hi - lo; i++) weights[o * taps + i] = total > 0 ? weights[o * taps + i] / total : 0;
    start[o] = lo;
    count[o] = hi - lo;
  }
  return { start, count, weights, taps };
}

/** Resizes `channels` interleaved planes (H x W x channels) to outH x outW, horizontally then vertically. */
export function resizeBilinear(src: Float32Array, h: number, w: number, channels: number, outH: number, outW: number): Float32Array {
  const cx = coefficients(w, outW);
  const tmp = new Float32Array(h * outW * channels);
  for (let y = 0; y < h; y++) {
    for (let o = 0; o < outW; o++) {
      const base = o * cx.taps;
      for (let c = 0; c < channels; c++) {
        let acc = 0;
        for (let t = 0; t < cx.count[o]; t++) acc += cx.weights[base + t] * src[(y * w + cx.start[o] + t) * channels + c];
        tmp[(y * outW + o) * channels + c] = acc;
      }
    }
  }
  const cy = coefficients(h, outH);
  const out = new Float32Array(outH * outW * channels);
  for (let o = 0; o < outH; o++) {
    const base = o * cy.taps;
    for (let x = 0; x < outW * channels; x++) {
      let acc = 0;
      for (let t = 0; t < cy.count[o]; t++) acc += cy.weights[base + t] * tmp[(cy.start[o] + t) * outW * channels + x];
      out[o * outW * channels + x] = acc;
    }
  }
  return out;
}
