/**
 * The pixels of a panel, photo | heatmap | overlay, with no encoder or font: Node's renderPanel
 * (panel.ts) captions and encodes them with jimp, the browser demo draws them on a canvas.
 */
import { fail } from '../errors.js';
import type { RgbImage } from '../image/rgb.js';
import type { InputWindow } from '../image/preprocess.js';
import { resizeBilinear } from '../image/resize.js';
import { colormap } from './colormaps.js';
import { normalizationOf, normalizeMap, type HeatmapOptions } from './heatmap.js';

export interface PanelOptions extends HeatmapOptions {
  /** Opacity of the heatmap over the photo (default 0.5). */
  overlay?: number;
  /** Caption under the images (class, probability, composite ...). */
  caption?: string;
  /** Height of each image in the panel: the photo's, kept between 224 and 512 unless given. */
  height?: number;
}

export interface PanelPixels {
  /** RGBA, width x height, white where nothing is drawn (the gaps, the caption's strip). */
  rgba: Uint8ClampedArray;
  width: number;
  height: number;
  /** Height of the images; a caption goes below them. */
  imageHeight: number;
}

const GAP = 8;
/** Panel heights accepted, and most pixels a panel may have (48 million: 192 MB of RGBA). */
const MIN_HEIGHT = 16;
const MAX_HEIGHT = 4096;
const MAX_PANEL_PIXELS = 48e6;
/**
 * Widest panel drawn: a panorama's is scaled down to it (ImageMagick's default policy refuses images
 * over 16K pixels a side, and browsers shrink such pictures to nothing). The heatmap itself keeps the
 * network input's resolution in the .npy.
 */
export const MAX_PANEL_WIDTH = 8192;
/** Height of the caption's strip. */
export const CAPTION_HEIGHT = 28;

/**
 * Photo | heatmap | overlay, side by side at the photo's aspect ratio, with room for a caption. The
 * heatmap (computed on the network's input) is mapped back onto the part of the photo the input showed.
 */
export function panelPixels(photo: RgbImage, map: Float32Array, mapHeight: number, mapWidth: number, window: InputWindow, options: PanelOptions = {}): PanelPixels {
  const alpha = options.overlay ?? 0.5;
  if (!(alpha >= 0 && alpha <= 1)) fail('BAD_OPTION', `overlay opacity must be between 0 and 1, got ${alpha}`);
  if (options.height !== undefined && !(Number.isInteger(options.height) && options.height >= MIN_HEIGHT && options.height <= MAX_HEIGHT)) {
    fail('BAD_OPTION', `panel height must be an integer from ${MIN_HEIGHT} to ${MAX_HEIGHT} pixels, got ${options.height}`);
  }
  // Kept under MAX_PANEL_PIXELS and MAX_PANEL_WIDTH: the default height shrinks for a very wide photo;
  // a given one fails.
  const aspect = photo.width / photo.height;
  const fit = Math.floor(Math.min(Math.sqrt(MAX_PANEL_PIXELS / 3 / aspect), (MAX_PANEL_WIDTH - 2 * GAP) / 3 / aspect));
  const dh = options.height ?? Math.max(1, Math.min(Math.max(photo.height, 224), 512, fit));
  const scale = dh / photo.height;
  // Only a photo over 2725 times wider than high still needs the width cut at one pixel's height.
  const dw = Math.max(1, Math.min(Math.round(photo.width * scale), options.height === undefined ? Math.floor((MAX_PANEL_WIDTH - 2 * GAP) / 3) : Infinity));
  if (3 * dw * dh > MAX_PANEL_PIXELS || 3 * dw + 2 * GAP > MAX_PANEL_WIDTH) {
    fail('BAD_OPTION', `a panel of the ${photo.width}x${photo.height} photo at height ${dh} would be ${3 * dw + 2 * GAP}x${dh} pixels, over ${MAX_PANEL_PIXELS / 1e6} million or ${MAX_PANEL_WIDTH} wide${options.height !== undefined ? '; give a smaller height' : ''}`);
  }
  const shown = resizeBilinear(photo.data, photo.height, photo.width, 3, dh, dw);

  // Heatmap positions (0..1 on the colour map) resized onto the window the network saw.
  const t = normalizeMap(map, options);
  const wx = Math.round(window.x * scale);
  const wy = Math.round(window.y * scale);
  const ww = Math.max(1, Math.round(window.width * scale));
  const wh = Math.max(1, Math.round(window.height * scale));
  const tWin = resizeBilinear(t, mapHeight, mapWidth, 1, wh, ww);
  const cmap = colormap(options.cmap ?? 'bwr');
  const zero = cmap(normalizationOf(options) === 'symmetric' ? 0.5 : 0);
  const heat = new Float32Array(dh * dw * 3);
  const inside = new Uint8Array(dh * dw);
  for (let y = 0; y < dh; y++) {
    for (let x = 0; x < dw; x++) {
      const i = y * dw + x;
      const u = x - wx;
      const v = y - wy;
      const c = u >= 0 && v >= 0 && u < ww && v < wh ? ((inside[i] = 1), cmap(tWin[v * ww + u])) : zero;
      heat[i * 3] = c[0] * 255;
      heat[i * 3 + 1] = c[1] * 255;
      heat[i * 3 + 2] = c[2] * 255;
    }
  }

  const width = 3 * dw + 2 * GAP;
  const height = dh + (options.caption ? CAPTION_HEIGHT : 0);
  const px = new Uint8ClampedArray(width * height * 4).fill(255);
  const put = (x0: number, src: (i: number, c: number) => number) => {
    for (let y = 0; y < dh; y++) {
      for (let x = 0; x < dw; x++) {
        const o = ((y * width + x0 + x) * 4) | 0;
        for (let c = 0; c < 3; c++) px[o + c] = Math.round(Math.min(Math.max(src(y * dw + x, c), 0), 255));
      }
    }
  };
  put(0, (i, c) => shown[i * 3 + c]);
  put(dw + GAP, (i, c) => heat[i * 3 + c]);
  put(2 * (dw + GAP), (i, c) => (inside[i] ? (1 - alpha) * shown[i * 3 + c] + alpha * heat[i * 3 + c] : shown[i * 3 + c]));
  return { rgba: px, width, height, imageHeight: dh };
}
