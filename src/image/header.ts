/**
 * What an image file declares before any pixel is decoded: its format, size and (JPEG) orientation.
 * Decoders allocate and loop by these numbers, so they are read and bounded first: a 40-byte GIF can
 * declare a 65535 x 65535 frame, a 3 MB PNG of zeros 32000 x 32000 pixels (10 GB decoded).
 */
import { imageSize } from 'image-size';
import omggif from 'omggif';
import { fail } from '../errors.js';

export type ImageFormat = 'png' | 'jpeg' | 'gif' | 'bmp' | 'tiff';
export const IMAGE_FORMATS = 'PNG, JPEG, BMP, GIF or TIFF';

export interface ImageHeader {
  format: ImageFormat;
  width: number;
  height: number;
  /** EXIF orientation, 1 (as stored) to 8. */
  orientation: number;
}

const startsWith = (b: Uint8Array, sig: readonly number[]) => sig.every((v, i) => b[i] === v);

/** The format by its magic bytes (never by the file name). */
export function sniffFormat(b: Uint8Array): ImageFormat | undefined {
  if (startsWith(b, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'png';
  if (startsWith(b, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (startsWith(b, [0x47, 0x49, 0x46, 0x38]) && (b[4] === 0x37 || b[4] === 0x39) && b[5] === 0x61) return 'gif';
  if (startsWith(b, [0x42, 0x4d])) return 'bmp';
  if (startsWith(b, [0x49, 0x49, 0x2a, 0x00]) || startsWith(b, [0x4d, 0x4d, 0x00, 0x2a])) return 'tiff';
  return undefined;
}

/** Formats relprop recognises but does not decode: ISO-BMFF brands (AVIF, HEIC) and RIFF WebP. */
function undecodedFormat(b: Uint8Array): string | undefined {
  const ascii = (from: number, to: number) => String.fromCharCode(...b.subarray(from, to));
  if (ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return 'WebP';
  if (ascii(4, 8) === 'ftyp') {
    const brand = ascii(8, 12);
    if (brand.startsWith('avi')) return 'AVIF';
    if (['heic', 'heix', 'hevc', 'heim', 'heis', 'mif1', 'msf1'].includes(brand)) return 'HEIC/HEIF';
  }
  if (ascii(0, 5) === '<?xml' || ascii(0, 4) === '<svg') return 'SVG (or other XML)';
  if (ascii(0, 4) === '%PDF') return 'PDF';
  return undefined;
}

/** Why bytes that are no PNG, JPEG, BMP, GIF or TIFF cannot be explained, and what to do. */
function whatItIs(b: Uint8Array): string {
  if (b.length === 0) return 'is empty (0 bytes): not an image; was it written completely?';
  const other = undecodedFormat(b);
  const convert = `convert it to PNG or JPEG (with ImageMagick: magick in out.png)`;
  if (other) return `is ${/^[AEIOU]/.test(other) ? "an" : "a"} ${other} file, which relprop does not decode (it reads ${IMAGE_FORMATS}): ${convert}`;
  const head = b.subarray(0, 64);
  const text = head.every((c) => c === 9 || c === 10 || c === 13 || (c >= 32 && c < 127));
  const shown = text ? `it starts with the text ${JSON.stringify(String.fromCharCode(...head.subarray(0, 24)))}` : `its first bytes (${[...b.subarray(0, 8)].map((c) => c.toString(16).padStart(2, '0')).join(' ')}) are those of no image format relprop knows`;
  return `is not a ${IMAGE_FORMATS} image: ${shown}; give an image file, or ${convert}`;
}

/**
 * Reads and checks the header. Everything a decoder will size a buffer or a loop by is bounded here:
 * the picture (at most `maxPixels`), a GIF's first frame, a TIFF's directory structure, tiles and
 * sample sizes.
 */
export function readImageHeader(bytes: Uint8Array, where: string, maxPixels: number): ImageHeader {
  const format = sniffFormat(bytes);
  if (!format) return fail('BAD_IMAGE', `"${where}" ${whatItIs(bytes)}`);
  const bad = (why: string): never => fail('BAD_IMAGE', `"${where}" is not a readable ${format.toUpperCase()} image: ${why}`);
  let header: ImageHeader;
  if (format === 'tiff') {
    header = { format, ...tiffFirstPage(bytes, bad), orientation: 1 };
  } else {
    let size: ReturnType<typeof imageSize>;
    try {
      size = imageSize(bytes);
    } catch (e) {
      return bad(`its header cannot be read (${(e as Error).message})`);
    }
    if ((size.type === 'jpg' ? 'jpeg' : size.type) !== format) bad(`its header reads as ${size.type}`);
    header = { format, width: size.width, height: size.height, orientation: size.orientation ?? 1 };
  }
  const { width, height } = header;
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0)) bad(`it declares ${width}x${height} pixels`);
  if (width * height > maxPixels) {
    fail('BAD_IMAGE', `"${where}" declares ${width}x${height} pixels, more than ${maxPixels / 1e6} megapixels; refused before decoding`);
  }
  if (!(header.orientation >= 1 && header.orientation <= 8)) header.orientation = 1;
  if (format === 'gif') checkGifFrame(bytes, maxPixels, bad);
  return header;
}

/** omggif loops over the first frame's own declared pixels, whatever the picture's size. */
function checkGifFrame(bytes: Uint8Array, maxPixels: number, bad: (why: string) => never): void {
  let frame: { width: number; height: number };
  try {
    frame = new omggif.GifReader(bytes).frameInfo(0);
  } catch (e) {
    bad(`its frames cannot be read (${(e as Error).message})`);
  }
  if (frame.width * frame.height > maxPixels) bad(`its first frame declares ${frame.width}x${frame.height} pixels, more than ${maxPixels / 1e6} megapixels`);
}

// ---- TIFF -----------------------------------------------------------------------------------------

/** Sizes of TIFF field types 1-13, in bytes. */
const TIFF_TYPE_BYTES = [0, 1, 1, 2, 4, 8, 1, 1, 2, 4, 8, 4, 8, 4];
/** Tags whose values point at further directories, which the decoder follows. */
const SUB_IFD_TAGS = new Set([330, 34665, 34853, 50740, 61440]);
/** Compressions decoded here: none, LZW, deflate (two codes), PackBits. JPEG-in-TIFF is refused. */
const TIFF_COMPRESSIONS = new Set([1, 5, 8, 32946, 32773]);
const MAX_IFDS = 256;

/**
 * Walks every directory the decoder (utif) will read, bounding its work before it runs: utif follows
 * the directory chain and sub-directories without a cycle check and loops over each field's declared
 * count, so a few bytes can make it loop forever or allocate gigabytes. Here each directory is read
 * once, fields must lie inside the file, and together they may not claim more than the file holds.
 * Returns the first page's size after checking its tiles, samples and compression.
 */
function tiffFirstPage(b: Uint8Array, bad: (why: string) => never): { width: number; height: number } {
  const le = b[0] === 0x49;
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const u16 = (at: number) => (at + 2 <= b.length ? view.getUint16(at, le) : bad(`it ends inside a directory (offset ${at})`));
  const u32 = (at: number) => (at + 4 <= b.length ? view.getUint32(at, le) : bad(`it ends inside a directory (offset ${at})`));
  const seen = new Set<number>();
  let claimed = 0;
  let first: Map<number, number[]> | undefined;
  const readIfd = (offset: number, depth: number): number => {
    if (seen.has(offset)) bad(`its directories form a cycle (offset ${offset})`);
    if (seen.size >= MAX_IFDS || depth > 4) bad(`it has more than ${MAX_IFDS} directories or nests them more than 4 deep`);
    seen.add(offset);
    const count = u16(offset);
    const tags = new Map<number, number[]>();
    for (let i = 0; i < count; i++) {
      const e = offset + 2 + i * 12;
      const [tag, type, n] = [u16(e), u16(e + 2), u32(e + 4)];
      const size = (TIFF_TYPE_BYTES[type] ?? 0) * n;
      if (type < 1 || type > 13) {
        if (i === 0) break; // as utif: a directory whose first field has an unknown type ends there
        continue;
      }
      const at = size <= 4 ? e + 8 : u32(e + 8);
      if (at + size > b.length) bad(`field ${tag} claims ${size} bytes at offset ${at}, past the end of the file (${b.length} bytes)`);
      claimed += size;
      if (claimed > 2 * b.length + 4096) bad('its fields claim more bytes than the file holds');
      if (type === 3 || type === 4) tags.set(tag, Array.from({ length: Math.min(n, 4) }, (_, j) => (type === 3 ? u16(at + 2 * j) : u32(at + 4 * j))));
      if (SUB_IFD_TAGS.has(tag) && (type === 4 || type === 13)) for (let j = 0; j < n; j++) readIfd(u32(at + 4 * j), depth + 1);
    }
    first ??= tags;
    return u32(offset + 2 + count * 12);
  };
  let next = u32(4);
  while (next !== 0) next = readIfd(next, 0);
  if (!first) return bad('it has no image directory');
  const tag = (t: number, fallback?: number) => first!.get(t)?.[0] ?? fallback ?? bad(`its first page lacks tag ${t}`);
  const [width, height] = [tag(256), tag(257)];
  const bitsPerPixel = tag(258, 1) * tag(277, 1);
  if (!(bitsPerPixel >= 1 && bitsPerPixel <= 128)) bad(`its first page has ${bitsPerPixel} bits a pixel`);
  const compression = tag(259, 1);
  if (!TIFF_COMPRESSIONS.has(compression)) bad(`compression ${compression} is not supported (only none, LZW, deflate and PackBits)`);
  if (first.has(50885) || tag(262, 2) === 32803) bad('camera raw data is not supported');
  if (first.has(322)) {
    const [tw, th] = [tag(322), tag(323)];
    if (!(tw > 0 && th > 0 && tw <= Math.max(width, 256) + 15 && th <= Math.max(height, 256) + 15)) bad(`its tiles (${tw}x${th}) are larger than its ${width}x${height} picture`);
  }
  return { width, height };
}
