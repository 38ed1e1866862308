import { crc32, deflateSync } from 'node:zlib';
import { Jimp } from 'jimp';

/** A PNG chunk: length, type, data, CRC. */
export function pngChunk(type: string, data: Uint8Array): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** A PNG whose IHDR says width x height (8-bit samples of `colorType`) and whose IDAT holds `idat`. */
export function pngWithData(width: number, height: number, colorType: 0 | 2 | 4 | 6, idat: Uint8Array): Uint8Array {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, colorType, 0, 0, 0], 8);
  return new Uint8Array(Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), pngChunk('IHDR', ihdr), pngChunk('IDAT', idat), pngChunk('IEND', new Uint8Array(0))]));
}

/** A minimal PNG of 8-bit samples: colour type 0 (gray), 4 (gray + alpha), 2 (RGB) or 6 (RGBA). */
export function png(width: number, height: number, colorType: 0 | 2 | 4 | 6, samples: number[]): Uint8Array {
  const per = { 0: 1, 2: 3, 4: 2, 6: 4 }[colorType];
  const raw = Buffer.alloc(height * (1 + width * per));
  for (let y = 0; y < height; y++) for (let i = 0; i < width * per; i++) raw[y * (1 + width * per) + 1 + i] = samples[y * width * per + i];
  return pngWithData(width, height, colorType, deflateSync(raw));
}

export const IMAGE_MIMES = ['image/png', 'image/jpeg', 'image/gif', 'image/bmp', 'image/tiff'] as const;

/** A small picture (4 x 3, a gradient) in each format, as jimp writes it. */
export async function sampleImages(): Promise<Record<(typeof IMAGE_MIMES)[number], Uint8Array>> {
  const src = new Jimp({ width: 4, height: 3, color: 0xff0000ff });
  for (let i = 0; i < 12; i++) src.bitmap.data.set([i * 20, 255 - i * 20, 128, 255], i * 4);
  const out = {} as Record<(typeof IMAGE_MIMES)[number], Uint8Array>;
  for (const mime of IMAGE_MIMES) out[mime] = new Uint8Array(await src.getBuffer(mime));
  return out;
}

/** A JPEG with an EXIF APP1 segment giving `orientation`, inserted after SOI. */
export function withExifOrientation(jpeg: Uint8Array, orientation: number): Uint8Array {
  // "Exif\0\0", then a little-endian TIFF header and one IFD entry: 0x0112 (Orientation), SHORT, 1.
  const tiff = [0x49, 0x49, 0x2a, 0, 8, 0, 0, 0, 1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0, orientation, 0, 0, 0, 0, 0, 0, 0];
  const body = [0x45, 0x78, 0x69, 0x66, 0, 0, ...tiff];
  const app1 = [0xff, 0xe1, (body.length + 2) >> 8, (body.length + 2) & 0xff, ...body];
  return Uint8Array.from([...jpeg.subarray(0, 2), ...app1, ...jpeg.subarray(2)]);
}

/** One TIFF directory entry: tag, type (3 SHORT, 4 LONG), values (inline when they fit). */
export interface TiffEntry {
  tag: number;
  type: 3 | 4;
  values: number[];
  /** A count to declare instead of values.length (for hostile files). */
  count?: number;
}

/**
 * A little-endian baseline TIFF: width x height RGB, 8 bits, uncompressed, one strip, after its one
 * directory. `patch` may change the entries; `next` is the next-directory offset (0: none).
 */
export function tiff(width: number, height: number, rgb: number[], patch: (e: TiffEntry[]) => TiffEntry[] = (e) => e, next = 0): Uint8Array {
  const base: TiffEntry[] = [
    { tag: 256, type: 4, values: [width] },
    { tag: 257, type: 4, values: [height] },
    { tag: 258, type: 3, values: [8] },
    { tag: 259, type: 3, values: [1] },
    { tag: 262, type: 3, values: [2] },
    { tag: 273, type: 4, values: [0] }, // strip offset, set below
    { tag: 277, type: 3, values: [3] },
    { tag: 278, type: 4, values: [height] },
    { tag: 279, type: 4, values: [rgb.length] },
  ];
  const entries = patch(base).sort((a, b) => a.tag - b.tag);
  const ifd = 8;
  const dataAt = ifd + 2 + entries.length * 12 + 4;
  for (const e of entries) if (e.tag === 273) e.values = [dataAt];
  const out = new Uint8Array(dataAt + rgb.length);
  const v = new DataView(out.buffer);
  out.set([0x49, 0x49, 0x2a, 0]);
  v.setUint32(4, ifd, true);
  v.setUint16(ifd, entries.length, true);
  entries.forEach((e, i) => {
    const at = ifd + 2 + i * 12;
    v.setUint16(at, e.tag, true);
    v.setUint16(at + 2, e.type, true);
    v.setUint32(at + 4, e.count ?? e.values.length, true);
    if (e.type === 3) e.values.slice(0, 2).forEach((x, j) => v.setUint16(at + 8 + 2 * j, x, true));
    else v.setUint32(at + 8, e.values[0] ?? 0, true);
  });
  v.setUint32(ifd + 2 + entries.length * 12, next, true);
  out.set(rgb, dataAt);
  return out;
}
