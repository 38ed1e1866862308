/**
 * Image bombs and damaged images: a few bytes that declare a huge picture, a frame larger than its
 * picture, a TIFF whose directories loop or claim more than the file holds. Each ends in a BAD_IMAGE
 * error that names the file and the problem, refused from the header before decoding: within 2 s and
 * 64 MB of added memory here (a decode of what they declare would take 10-17 GB, or loop for ever).
 * Then every format truncated, bit-flipped and with inflated header sizes (fast-check).
 */
import { deflateSync } from 'node:zlib';
import { fc, it as prop } from '@fast-check/vitest';
import { describe, expect, it, vi } from 'vitest';
import { decodeImage } from '../src/app/index.js';
import { RelpropError } from '../src/index.js';
import { IMAGE_MIMES, png, pngWithData, sampleImages, tiff } from './helpers/images.js';

const samples = await sampleImages();
const RGB = Array.from({ length: 4 * 3 * 3 }, (_, i) => (i * 7) % 256);

async function refused(bytes: Uint8Array, message: RegExp): Promise<void> {
  const rss = process.memoryUsage().rss;
  const t = performance.now();
  let error: unknown;
  try {
    await decodeImage(bytes, 'bomb');
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(RelpropError);
  expect((error as RelpropError).code).toBe('BAD_IMAGE');
  expect((error as Error).message).toMatch(/^"bomb"/);
  expect((error as Error).message).toMatch(message);
  expect(performance.now() - t).toBeLessThan(2000);
  expect(process.memoryUsage().rss - rss).toBeLessThan(64 * 1024 ** 2);
}

const with16 = (b: Uint8Array, at: number, v: number, le = true) => {
  const out = b.slice();
  new DataView(out.buffer).setUint16(at, v, le);
  return out;
};

describe('image bombs are refused from the header, before decoding', () => {
  it('PNG: 32000 x 32000 pixels of zeros in a few bytes', async () => {
    await refused(pngWithData(32000, 32000, 2, deflateSync(Buffer.alloc(1))), /declares 32000x32000 pixels, more than 100 megapixels; refused before decoding/);
  });
  it('PNG: a 1 x 1 picture whose data inflates to 64 MB stops at what 1 x 1 needs', async () => {
    await refused(pngWithData(1, 1, 2, deflateSync(Buffer.alloc(64 * 1024 ** 2))), /not a readable PNG image/);
  });
  it('GIF: a 1 x 1 screen with a 65535 x 65535 first frame, and a 65535 x 65535 screen', async () => {
    const gif = Uint8Array.from([0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 1, 0, 1, 0, 0x80, 0, 0, 0, 0, 0, 255, 255, 255, 0x2c, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 2, 2, 0x44, 0x01, 0, 0x3b]);
    await refused(gif, /not a readable GIF image: its first frame declares 65535x65535 pixels/);
    await refused(with16(with16(gif, 6, 0xffff), 8, 0xffff), /declares 65535x65535 pixels/);
  });
  it('JPEG: a frame header declaring 65535 x 65535', async () => {
    const jpeg = samples['image/jpeg'];
    const sof = jpeg.findIndex((b, i) => b === 0xff && jpeg[i + 1] === 0xc0);
    await refused(with16(with16(jpeg, sof + 5, 0xffff, false), sof + 7, 0xffff, false), /declares 65535x65535 pixels/);
  });
  it('BMP: a header declaring 2^31 - 1 x 2 pixels', async () => {
    const bmp = samples['image/bmp'].slice();
    new DataView(bmp.buffer).setInt32(18, 2 ** 31 - 1, true);
    new DataView(bmp.buffer).setInt32(22, 2, true);
    await refused(bmp, /declares 2147483647x2 pixels/);
  });
  it('TIFF: huge pages, looping or nested directories, fields past the end, huge tiles, JPEG compression', async () => {
    expect((await decodeImage(tiff(4, 3, RGB))).data.slice(0, 6)).toEqual(Float32Array.from(RGB.slice(0, 6)));
    await refused(tiff(65535, 65535, RGB), /declares 65535x65535 pixels/);
    await refused(tiff(4, 3, RGB, (e) => e, 8), /its directories form a cycle \(offset 8\)/);
    await refused(tiff(4, 3, RGB, (e) => [...e, { tag: 330, type: 4, values: [8] }]), /its directories form a cycle/);
    await refused(tiff(4, 3, RGB, (e) => [...e, { tag: 700, type: 3, values: [0], count: 2 ** 31 }]), /field 700 claims 4294967296 bytes at offset \d+, past the end of the file/);
    await refused(tiff(4, 3, RGB, (e) => [...e, { tag: 322, type: 4, values: [60000] }, { tag: 323, type: 4, values: [60000] }]), /its tiles \(60000x60000\) are larger than its 4x3 picture/);
    await refused(tiff(4, 3, RGB, (e) => e.map((x) => (x.tag === 259 ? { ...x, values: [7] } : x))), /compression 7 is not supported/);
    await refused(tiff(4, 3, RGB, (e) => e.map((x) => (x.tag === 277 ? { ...x, values: [4000] } : x))), /32000 bits a pixel/);
  });
});

describe('decoders say nothing on stdout', () => {
  it('a GIF whose stream is shorter than its frame decodes without omggif printing its warning', async () => {
    const log = vi.spyOn(console, 'log');
    const short = Uint8Array.from([0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 4, 0, 4, 0, 0x80, 0, 0, 0, 0, 0, 255, 255, 255, 0x2c, 0, 0, 0, 0, 4, 0, 4, 0, 0, 2, 2, 0x44, 0x01, 0, 0x3b]);
    const img = await decodeImage(short);
    expect([img.width, img.height]).toEqual([4, 4]);
    expect(log).not.toHaveBeenCalled();
    log.mockRestore();
  });
});

// ---- fuzzing ---------------------------------------------------------------------------------------

/** Ends in a BAD_IMAGE error or a picture of at most `maxPixels` whose buffer matches its size. */
async function endsCleanly(bytes: Uint8Array): Promise<void> {
  const maxPixels = 1e6;
  try {
    const img = await decodeImage(bytes, 'fuzzed', { maxPixels });
    expect(img.width * img.height).toBeLessThanOrEqual(maxPixels);
    expect(img.data.length).toBe(img.width * img.height * 3);
  } catch (e) {
    if (!(e instanceof RelpropError)) throw new Error(`not a RelpropError: ${(e as Error)?.stack ?? e}`);
    expect(e.code).toBe('BAD_IMAGE');
    expect(e.message).toMatch(/^"fuzzed"/);
  }
}

/** Where each format (as jimp writes it) keeps its declared width and height. */
const SIZE_FIELDS: Record<(typeof IMAGE_MIMES)[number], (b: Uint8Array) => { at: number; bytes: 2 | 4; le: boolean }[]> = {
  'image/png': () => [{ at: 16, bytes: 4, le: false }, { at: 20, bytes: 4, le: false }],
  'image/jpeg': (b) => {
    const sof = b.findIndex((v, i) => v === 0xff && b[i + 1] === 0xc0);
    return [{ at: sof + 5, bytes: 2, le: false }, { at: sof + 7, bytes: 2, le: false }];
  },
  'image/gif': (b) => {
    const desc = b.indexOf(0x2c, 13);
    return [{ at: 6, bytes: 2, le: true }, { at: 8, bytes: 2, le: true }, { at: desc + 5, bytes: 2, le: true }, { at: desc + 7, bytes: 2, le: true }];
  },
  'image/bmp': () => [{ at: 18, bytes: 4, le: true }, { at: 22, bytes: 4, le: true }],
  'image/tiff': () => [],
};

describe.each(IMAGE_MIMES)('fuzzed %s', (mime) => {
  const bytes = mime === 'image/tiff' ? tiff(4, 3, RGB) : samples[mime];
  prop.prop([fc.nat({ max: bytes.length - 1 })])('truncated', async (cut) => {
    await endsCleanly(bytes.subarray(0, cut));
  });
  prop.prop([fc.array(fc.record({ at: fc.nat({ max: bytes.length - 1 }), bit: fc.nat({ max: 7 }) }), { minLength: 1, maxLength: 8 })])('bit-flipped', async (flips) => {
    const b = bytes.slice();
    for (const { at, bit } of flips) b[at] ^= 1 << bit;
    await endsCleanly(b);
  });
  const fields = mime === 'image/tiff' ? [] : SIZE_FIELDS[mime](bytes);
  const sizes = fc.constantFrom(0, 1, 5, 1001, 40000, 65535, 2 ** 31 - 1, 2 ** 32 - 1);
  prop.prop([fc.array(fc.tuple(fc.nat({ max: 3 }), sizes), { minLength: 1, maxLength: 3 })])('size-inflated header', async (changes) => {
    const b = mime === 'image/tiff' ? tiff(changes[0][1] || 1, changes.at(-1)![1] || 1, RGB) : bytes.slice();
    const v = new DataView(b.buffer);
    for (const [which, size] of mime === 'image/tiff' ? [] : changes) {
      const f = fields[which % fields.length];
      if (f.bytes === 2) v.setUint16(f.at, size & 0xffff, f.le);
      else v.setUint32(f.at, size >>> 0, f.le);
    }
    await endsCleanly(b);
  });
});

it('the sample images decode (the fuzz starts from valid files)', async () => {
  for (const mime of IMAGE_MIMES) expect((await decodeImage(mime === 'image/tiff' ? tiff(4, 3, RGB) : samples[mime])).width).toBe(4);
  expect(png(1, 1, 0, [9]).length).toBeGreaterThan(0);
});
