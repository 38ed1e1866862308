import * as bmp from 'bmp-ts';
import jpeg from 'jpeg-js';
import omggif from 'omggif';
import pngjs from 'pngjs';
import UTIF from 'utif2';
import { fail, RelpropError } from '../errors.js';
import { readImageHeader, type ImageFormat } from './header.js';
import { MAX_IMAGE_FILE_BYTES, MAX_PIXELS, rgbaToRgb as toRgb, type RgbImage } from './rgb.js';

export { MAX_IMAGE_FILE_BYTES, MAX_PIXELS, type RgbImage };

interface Rgba {
  width: number;
  height: number;
  data: Uint8Array;
}

/** Each format's decoder, run on bytes whose header readImageHeader has bounded. */
const DECODERS: Record<ImageFormat, (bytes: Uint8Array) => Rgba> = {
  png: (bytes) => pngjs.PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)),
  jpeg: (bytes) => jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: MAX_PIXELS / 1e6, maxMemoryUsageInMB: 2048 }),
  bmp: (bytes) => {
    // bmp-ts gives A, B, G, R; BMP's alpha is unreliable (jimp ignores it too), so pixels are opaque.
    const { width, height, data } = bmp.decode(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    for (let i = 0; i < data.length; i += 4) {
      const [b, g, r] = [data[i + 1], data[i + 2], data[i + 3]];
      data[i] = r;
      data[i + 1] = g;
      data[i + 2] = b;
      data[i + 3] = 255;
    }
    return { width, height, data };
  },
  gif: (bytes) => {
    // The first frame over the logical screen; the rest of an animation is never decoded.
    const reader = new omggif.GifReader(bytes);
    const data = new Uint8Array(reader.width * reader.height * 4);
    reader.decodeAndBlitFrameRGBA(0, data);
    return { width: reader.width, height: reader.height, data };
  },
  tiff: (bytes) => {
    // The first page only (jimp decodes every page); maker notes are not parsed.
    const buffer = bytes.slice().buffer;
    const page = (UTIF.decode as (b: ArrayBuffer, p: object) => UTIF.IFD[])(buffer, { parseMN: false, debug: false })[0];
    UTIF.decodeImage(buffer, page);
    return { width: page.width as number, height: page.height as number, data: UTIF.toRGBA8(page) };
  },
};

/**
 * Runs a decoder with its console output dropped: omggif and utif print warnings with console.log,
 * which would land in the middle of `--json` output. The call is synchronous, so nothing else's output
 * can fall in the window.
 */
function quietly<T>(f: () => T): T {
  const keep = { log: console.log, warn: console.warn, info: console.info, debug: console.debug };
  const drop = () => {};
  Object.assign(console, { log: drop, warn: drop, info: drop, debug: drop });
  try {
    return f();
  } finally {
    Object.assign(console, keep);
  }
}

/**
 * Decodes PNG, JPEG (EXIF orientation applied), BMP, GIF (first frame) or TIFF (first page). The
 * header is read first and a picture over MAX_PIXELS refused before anything is decoded. Grayscale
 * comes out as equal R, G, B; transparent pixels are composited over white, as a viewer shows them.
 */
export async function decodeImage(source: string | Uint8Array, where = typeof source === 'string' ? source : 'image bytes', options: { maxPixels?: number } = {}): Promise<RgbImage> {
  const maxPixels = options.maxPixels ?? MAX_PIXELS;
  if (!(maxPixels >= 1 && maxPixels <= MAX_PIXELS)) fail('BAD_OPTION', `maxPixels must be from 1 to ${MAX_PIXELS}, got ${maxPixels}`);
  const bytes = typeof source === 'string' ? await readImageFile(source, where) : source;
  if (!(bytes instanceof Uint8Array)) fail('BAD_IMAGE', `image bytes must be a Uint8Array, got ${typeof bytes}`);
  const header = readImageHeader(bytes, where, maxPixels);
  let decoded: Rgba;
  try {
    decoded = quietly(() => DECODERS[header.format](bytes));
  } catch (e) {
    if (e instanceof RelpropError) throw e;
    return fail('BAD_IMAGE', `"${where}" is not a readable ${header.format.toUpperCase()} image: ${decoderSays(e, bytes.byteLength)}`);
  }
  const { width, height, data } = decoded;
  if (width !== header.width || height !== header.height || data.length < width * height * 4) {
    fail('BAD_IMAGE', `"${where}" decoded to ${width}x${height} pixels (${data.length} bytes), not the ${header.width}x${header.height} its header declares`);
  }
  return orient(toRgb(width, height, data), header.orientation);
}

/**
 * A decoder's message, in words a user can act on where it is one of the decoders' own (pngjs says a
 * truncated file leaves "read requests waitng on finished stream").
 */
function decoderSays(e: unknown, bytes: number): string {
  const message = (e as Error)?.message ?? String(e);
  if (/finished stream|unexpected end|end of (file|data|buffer)|offset is outside|out of range|truncated/i.test(message)) {
    return `it ends early, after ${bytes} bytes (truncated? copy or download it again)`;
  }
  return message;
}

async function readImageFile(file: string, where: string): Promise<Uint8Array> {
  const fs = await import('node:fs/promises');
  let handle: import('node:fs/promises').FileHandle | undefined;
  try {
    handle = await fs.open(file, 'r');
    const st = await handle.stat();
    if (!st.isFile()) fail('BAD_IMAGE', `"${where}" is not a regular file`);
    if (st.size > MAX_IMAGE_FILE_BYTES) fail('BAD_IMAGE', `"${where}" is ${(st.size / 1024 ** 2).toFixed(0)} MiB, larger than the ${MAX_IMAGE_FILE_BYTES / 1024 ** 2} MiB an image file may be`);
    const bytes = new Uint8Array(st.size);
    const { bytesRead } = await handle.read(bytes, 0, st.size, 0);
    return bytes.subarray(0, bytesRead);
  } catch (e) {
    if (e instanceof RelpropError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') fail('NOT_FOUND', `no image file "${where}"`);
    if (code === 'EISDIR') fail('BAD_IMAGE', `"${where}" is a directory, not an image file`);
    return fail('BAD_IMAGE', `cannot read "${where}": ${(e as Error).message}`);
  } finally {
    await handle?.close();
  }
}

/**
 * Applies an EXIF orientation (2-8), as viewers and jimp do: for each output pixel, the stored pixel it
 * shows. Orientations 5-8 swap width and height.
 */
function orient(img: RgbImage, orientation: number): RgbImage {
  if (orientation <= 1) return img;
  const { width: w, height: h, data } = img;
  const swap = orientation >= 5;
  const [ow, oh] = swap ? [h, w] : [w, h];
  const source: Record<number, (x: number, y: number) => [number, number]> = {
    2: (x, y) => [w - 1 - x, y],
    3: (x, y) => [w - 1 - x, h - 1 - y],
    4: (x, y) => [x, h - 1 - y],
    5: (x, y) => [y, x],
    6: (x, y) => [y, h - 1 - x],
    7: (x, y) => [w - 1 - y, h - 1 - x],
    8: (x, y) => [w - 1 - y, x],
  };
  const at = source[orientation];
  const out = new Float32Array(data.length);
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      const [sx, sy] = at(x, y);
      for (let c = 0; c < 3; c++) out[(y * ow + x) * 3 + c] = data[(sy * w + sx) * 3 + c];
    }
  }
  return { width: ow, height: oh, data: out };
}

