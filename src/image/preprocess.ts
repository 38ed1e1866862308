import type { Preprocessing } from '../model/preprocessing.js';
import { fail } from '../errors.js';
import { MAX_PIXELS, type RgbImage } from './rgb.js';
import { resizeBilinear } from './resize.js';

/** Where the network's input came from in the photo, so a heatmap can be laid back onto it. */
export interface InputWindow {
  /** The part of the original photo the input shows, in original pixels (possibly fractional). */
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface PreparedImage {
  /** [C, H, W] input, channel order and normalisation of the preprocessing. */
  input: Float32Array;
  /** 3 (the photo's channels in the preprocessing's order) or 1 (its luminance). */
  channels: 1 | 3;
  /** The resized (and cropped) RGB photo the network saw, H x W x 3, 0..255. */
  rgb: Float32Array;
  height: number;
  width: number;
  window: InputWindow;
}

/**
 * Resizes (and crops) a photo and normalises it as the model's preprocessing says. For a 1-channel
 * model the input is the photo's luminance, 0.299 R + 0.587 G + 0.114 B (ITU-R 601, as PIL's
 * convert('L') and torchvision's Grayscale), normalised with the preprocessing's first mean and std.
 */
export function preprocessImage(image: RgbImage, p: Preprocessing, channels: 1 | 3 = 3): PreparedImage {
  if (channels !== 1 && channels !== 3) fail('BAD_INPUT', `photos feed models of 3 channels (RGB) or 1 (luminance), not ${channels}`);
  // A built model has no preprocessing of its own: model.info.preprocessing is then undefined.
  if (p === null || typeof p !== 'object' || !Array.isArray(p.size)) fail('BAD_OPTION', `preprocessImage needs a preprocessing (model.info.preprocessing, or preprocessingOf(model) from relprop/app for a model without one), got ${p === undefined ? 'undefined' : JSON.stringify(p)}`);
  const [outH, outW] = p.size;
  if (outH * outW > MAX_PIXELS) fail('BAD_INPUT', `the model's input is ${outH}x${outW} pixels, more than the ${MAX_PIXELS / 1e6} megapixels a photo is prepared for`);
  let rgb: Float32Array;
  let window: InputWindow;
  if (p.resize === 'stretch') {
    rgb = resizeBilinear(image.data, image.height, image.width, 3, outH, outW);
    window = { x: 0, y: 0, width: image.width, height: image.height };
  } else {
    // torchvision: Resize(shorter) keeps the aspect ratio (sizes truncated), then CenterCrop rounds.
    const shorter = p.resizeShorter ?? Math.min(outH, outW);
    const s = shorter / Math.min(image.width, image.height);
    const rh = image.height <= image.width ? shorter : Math.trunc(image.height * s);
    const rw = image.width < image.height ? shorter : Math.trunc(image.width * s);
    const resized = resizeBilinear(image.data, image.height, image.width, 3, rh, rw);
    const top = roundHalfEven((rh - outH) / 2);
    const left = roundHalfEven((rw - outW) / 2);
    rgb = new Float32Array(outH * outW * 3);
    for (let y = 0; y < outH; y++) {
      for (let x = 0; x < outW; x++) {
        const sy = y + top;
        const sx = x + left;
        if (sy < 0 || sx < 0 || sy >= rh || sx >= rw) continue;
        for (let c = 0; c < 3; c++) rgb[(y * outW + x) * 3 + c] = resized[(sy * rw + sx) * 3 + c];
      }
    }
    window = { x: (left * image.width) / rw, y: (top * image.height) / rh, width: (outW * image.width) / rw, height: (outH * image.height) / rh };
  }
  const input = new Float32Array(channels * outH * outW);
  if (channels === 1) {
    for (let i = 0; i < outH * outW; i++) input[i] = ((0.299 * rgb[i * 3] + 0.587 * rgb[i * 3 + 1] + 0.114 * rgb[i * 3 + 2]) * p.scale - p.mean[0]) / p.std[0];
    return { input, channels, rgb, height: outH, width: outW, window };
  }
  const order = p.channelOrder === 'BGR' ? [2, 1, 0] : [0, 1, 2];
  for (let c = 0; c < 3; c++) {
    const src = order[c];
    for (let i = 0; i < outH * outW; i++) input[c * outH * outW + i] = (rgb[i * 3 + src] * p.scale - p.mean[c]) / p.std[c];
  }
  return { input, channels, rgb, height: outH, width: outW, window };
}

/** Python's round(), which torchvision's CenterCrop uses: halves go to the even neighbour. */
function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d !== 0.5) return Math.round(v);
  return f % 2 === 0 ? f : f + 1;
}
