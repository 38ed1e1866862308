import { Jimp } from 'jimp';
import { fail } from '../errors.js';

/** A decoded photo: RGB in 0..255, interleaved, row-major. */
export interface RgbImage {
  width: number;
  height: number;
  /** height x width x 3 */
  data: Float32Array;
}

/** Most pixels a photo may have (a 100-megapixel image): decoding more would exhaust memory. */
export const MAX_PIXELS = 100_000_000;

/**
 * Decodes PNG, JPEG, BMP, GIF (first frame) or TIFF with jimp. Grayscale comes out as equal R, G, B;
 * transparent pixels are composited over white, as a viewer shows them.
 */
export async function decodeImage(source: string | Uint8Array, where = typeof source === 'string' ? source : 'image bytes'): Promise<RgbImage> {
  let bytes: Uint8Array;
  if (typeof source === 'string') {
    const { readFile } = await import('node:fs/promises');
    try {
      bytes = new Uint8Array(await readFile(source));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      return fail(code === 'ENOENT' ? 'NOT_FOUND' : 'BAD_IMAGE', code === 'ENOENT' ? `no image file "${where}"` : `cannot read "${where}": ${(e as Error).message}`);
    }
  } else bytes = source;
  let image: Awaited<ReturnType<typeof Jimp.read>>;
  try {
    image = await Jimp.read(bytes.slice().buffer as ArrayBuffer);
  } catch (e) {
    const msg = (e as Error).message ?? String(e);
    return fail('BAD_IMAGE', `cannot decode "${where}" as PNG, JPEG, BMP, GIF or TIFF (${msg})`);
  }
  const { width, height, data } = image.bitmap;
  if (!(width > 0 && height > 0)) fail('BAD_IMAGE', `"${where}" has no pixels (${width}x${height})`);
  if (width * height > MAX_PIXELS) fail('BAD_IMAGE', `"${where}" is ${width}x${height}, more than ${MAX_PIXELS / 1e6} megapixels`);
  const rgb = new Float32Array(width * height * 3);
  for (let p = 0; p < width * height; p++) {
    const a = data[p * 4 + 3] / 255;
    for (let c = 0; c < 3; c++) rgb[p * 3 + c] = data[p * 4 + c] * a + 255 * (1 - a);
  }
  return { width, height, data: rgb };
}
