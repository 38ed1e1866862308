/**
 * Photos decoded by the platform (createImageBitmap, OffscreenCanvas): browsers and workers, where
 * decode.ts's JavaScript codecs would only add weight. The header is read first, by the same code as
 * decode.ts, so a picture over the pixel limit is refused before it is decoded; colour profiles are
 * not applied (as in decode.ts), so a PNG gives the pixels Node reads from it.
 */
import { fail } from '../errors.js';
import { readImageHeader } from './header.js';
import { MAX_PIXELS, rgbaToRgb, type RgbImage } from './rgb.js';

export async function decodeWithPlatform(bytes: Uint8Array, where: string, maxPixels = MAX_PIXELS): Promise<RgbImage> {
  const header = readImageHeader(bytes, where, maxPixels);
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(new Blob([bytes as Uint8Array<ArrayBuffer>]), { colorSpaceConversion: 'none', premultiplyAlpha: 'none', imageOrientation: 'from-image' });
  } catch (e) {
    return fail('BAD_IMAGE', `"${where}" is not a readable ${header.format.toUpperCase()} image: ${(e as Error)?.message ?? String(e)}`);
  }
  const { width, height } = bitmap;
  const canvas = new OffscreenCanvas(width, height);
  const ctx = canvas.getContext('2d');
  if (!ctx) return fail('BAD_IMAGE', 'this browser gives no 2D canvas to read pixels from');
  ctx.drawImage(bitmap, 0, 0);
  bitmap.close();
  return rgbaToRgb(width, height, ctx.getImageData(0, 0, width, height, { colorSpace: 'srgb' }).data);
}
