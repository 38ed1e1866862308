/**
 * Photos in the worker. The platform decodes what every browser does (PNG, JPEG, GIF, BMP); TIFF, which
 * Chromium and Firefox do not, goes through the decoder relprop's own decodeImage uses (utif2, the first
 * page), so a TIFF the CLI reads, the page reads too, to the same pixels. decodeImage itself cannot be
 * bundled for a browser (pngjs, which it imports, needs Node's zlib and streams), hence this copy of
 * its TIFF branch; spec/demo.spec.ts checks the page's relevance against Node's for an LZW TIFF.
 */
import { fail, RelpropError } from '../src/errors.js';
import { decodeWithPlatform } from '../src/image/decode-platform.js';
import { readImageHeader, sniffFormat } from '../src/image/header.js';
import { MAX_PIXELS, rgbaToRgb, type RgbImage } from '../src/image/rgb.js';

export async function decodePhoto(bytes: Uint8Array, where: string): Promise<RgbImage> {
  if (sniffFormat(bytes) !== 'tiff') return decodeWithPlatform(bytes, where);
  // Bounded before anything is decoded, as decodeImage does: loops, sizes past MAX_PIXELS, fields past the end.
  const header = readImageHeader(bytes, where, MAX_PIXELS);
  let width: number, height: number, data: Uint8Array;
  // Imported for a TIFF only: evaluating utif2 (and the pako it bundles) took 35-60 ms of the worker's start.
  const { default: UTIF } = await import('utif2');
  try {
    const buffer = bytes.slice().buffer;
    const page = (UTIF.decode as (b: ArrayBuffer, p: object) => UTIF.IFD[])(buffer, { parseMN: false, debug: false })[0];
    UTIF.decodeImage(buffer, page);
    [width, height, data] = [page.width as number, page.height as number, UTIF.toRGBA8(page)];
  } catch (e) {
    if (e instanceof RelpropError) throw e;
    return fail('BAD_IMAGE', `"${where}" is not a readable TIFF image: ${(e as Error)?.message ?? String(e)}`);
  }
  if (width !== header.width || height !== header.height || data.length < width * height * 4) {
    fail('BAD_IMAGE', `"${where}" decoded to ${width}x${height} pixels (${data.length} bytes), not the ${header.width}x${header.height} its header declares`);
  }
  // A TIFF's orientation tag is not applied (decodeImage reads none either), so no turn here.
  return rgbaToRgb(width, height, data);
}
