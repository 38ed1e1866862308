import { Jimp, loadFont } from 'jimp';
import { SANS_16_BLACK } from 'jimp/fonts';
import type { RgbImage } from '../image/rgb.js';
import type { InputWindow } from '../image/preprocess.js';
import { panelPixels, type PanelOptions } from './panel-pixels.js';

export type { PanelOptions };

export interface RenderedPanel {
  png: Uint8Array;
  width: number;
  height: number;
}

/** The panel (panel-pixels.ts) as a PNG, its caption set in jimp's font. */
export async function renderPanel(photo: RgbImage, map: Float32Array, mapHeight: number, mapWidth: number, window: InputWindow, options: PanelOptions = {}): Promise<RenderedPanel> {
  const { rgba, width, height, imageHeight } = panelPixels(photo, map, mapHeight, mapWidth, window, options);
  const image = new Jimp({ width, height, color: 0xffffffff });
  image.bitmap.data.set(rgba);
  if (options.caption) {
    const font = await loadFont(SANS_16_BLACK);
    image.print({ font, x: 6, y: imageHeight + 6, text: options.caption, maxWidth: width - 12 });
  }
  // RGB (the panel is opaque) with one filter, Paeth, for every row: pngjs's default tries all five per
  // row and keeps alpha. A 1353 x 330 panel took 95 -> 59 ms and 17% fewer bytes.
  const png = new Uint8Array(await image.getBuffer('image/png', { colorType: 2, filterType: 4 }));
  return { png, width, height };
}
