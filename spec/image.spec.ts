/**
 * Photos in, heatmaps out: decoding every format jimp reads (grayscale and alpha included), the
 * antialiased resize against Pillow's numbers, the preprocessing of the model manifests, colour maps,
 * normalisation, and the .npy writer.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeImage } from '../src/image/decode.js';
import { preprocessImage } from '../src/image/preprocess.js';
import { resizeBilinear } from '../src/image/resize.js';
import { PREPROCESSING } from '../src/model/preprocessing.js';
import { COLORMAPS } from '../src/render/colormaps.js';
import { channelSum, heatmapRgb, normalizeMap } from '../src/render/heatmap.js';
import { decodeNpy, encodeNpy } from '../src/render/npy.js';
import { png, sampleImages, withExifOrientation } from './helpers/images.js';

describe('decoding', () => {
  it('grayscale PNG: R = G = B = the gray level', async () => {
    const img = await decodeImage(png(3, 2, 0, [0, 100, 255, 7, 8, 9]));
    expect([img.width, img.height]).toEqual([3, 2]);
    expect(Array.from(img.data.slice(0, 9))).toEqual([0, 0, 0, 100, 100, 100, 255, 255, 255]);
  });
  it('alpha (gray + alpha and RGBA): composited over white', async () => {
    const ga = await decodeImage(png(2, 1, 4, [0, 0, 0, 255]));
    expect(Array.from(ga.data)).toEqual([255, 255, 255, 0, 0, 0]);
    const rgba = await decodeImage(png(1, 1, 6, [200, 100, 0, 128]));
    const a = 128 / 255;
    expect(Array.from(rgba.data)).toEqual([200 * a + 255 * (1 - a), 100 * a + 255 * (1 - a), 255 * (1 - a)].map(Math.fround));
  });
  it('BMP, GIF, TIFF and JPEG written by jimp come back with their pixels', async () => {
    for (const [mime, bytes] of Object.entries(await sampleImages())) {
      const img = await decodeImage(bytes, mime);
      expect([img.width, img.height], mime).toEqual([4, 3]);
      // Lossless formats exactly; GIF within jimp's palette quantisation, JPEG within its loss.
      const tol = { 'image/jpeg': 40, 'image/gif': 24 }[mime as string] ?? 0;
      for (let i = 0; i < 12; i++) expect(Math.abs(img.data[i * 3] - i * 20), `${mime} pixel ${i}`).toBeLessThanOrEqual(tol);
    }
  });
  it('a JPEG is turned as its EXIF orientation says (as viewers and jimp do)', async () => {
    const jpeg = (await sampleImages())['image/jpeg'];
    const plain = await decodeImage(jpeg);
    const at = (img: { width: number; data: Float32Array }, x: number, y: number) => img.data[(y * img.width + x) * 3];
    // 6: rotated 90 degrees clockwise for display; the displayed (x, y) is the stored (y, h - 1 - x).
    const turned = await decodeImage(withExifOrientation(jpeg, 6));
    expect([turned.width, turned.height]).toEqual([3, 4]);
    for (let y = 0; y < 4; y++) for (let x = 0; x < 3; x++) expect(at(turned, x, y)).toBe(at(plain, y, 2 - x));
    // 3: upside down.
    const flipped = await decodeImage(withExifOrientation(jpeg, 3));
    for (let y = 0; y < 3; y++) for (let x = 0; x < 4; x++) expect(at(flipped, x, y)).toBe(at(plain, 3 - x, 2 - y));
  });
  it('a file that is not an image, and a missing file', async () => {
    await expect(decodeImage(new TextEncoder().encode('hello'), 'hello.txt')).rejects.toThrow(/"hello.txt" is not a PNG, JPEG, BMP, GIF or TIFF image: it starts with the text "hello"; give an image file, or convert it/);
    await expect(decodeImage(new Uint8Array([0, 1, 2, 250, 9, 9, 9, 9, 9]), 'x.bin')).rejects.toThrow(/"x.bin" is not a PNG, JPEG, BMP, GIF or TIFF image: its first bytes \(00 01 02 fa 09 09 09 09\) are those of no image format relprop knows/);
    await expect(decodeImage(new Uint8Array(0), 'empty.png')).rejects.toThrow(/"empty.png" is empty \(0 bytes\): not an image/);
    const box = (brand: string) => new Uint8Array([0, 0, 0, 24, ...new TextEncoder().encode(`ftyp${brand}`), 0, 0, 0, 0]);
    await expect(decodeImage(new TextEncoder().encode('RIFF\0\0\0\0WEBPVP8 '), 'a.webp')).rejects.toThrow(/"a.webp" is a WebP file, which relprop does not decode \(it reads PNG, JPEG, BMP, GIF or TIFF\): convert it to PNG or JPEG/);
    await expect(decodeImage(box('avif'), 'a.avif')).rejects.toThrow(/is an? AVIF file, which relprop does not decode/);
    await expect(decodeImage(box('heic'), 'a.heic')).rejects.toThrow(/is a HEIC\/HEIF file/);
    // pngjs's own words for a cut file ("read requests waitng on finished stream") are not passed on.
    const chelsea = new Uint8Array(readFileSync(join(import.meta.dirname, '../examples/chelsea.png')));
    const cut = decodeImage(chelsea.subarray(0, 3000), 'cut-chelsea.png');
    await expect(cut).rejects.toThrow(/"cut-chelsea.png" is not a readable PNG image: it ends early, after 3000 bytes \(truncated\? copy or download it again\)/);
    await expect(decodeImage('/nonexistent/cat.png')).rejects.toThrow(/no image file "\/nonexistent\/cat.png"/);
    await expect(decodeImage(png(2, 2, 2, [1, 2, 3]).subarray(0, 40), 'cut.png')).rejects.toThrow(/"cut.png" is not a readable PNG image/);
  });
});

describe('resize and preprocessing', () => {
  const fixture = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures/image/resize.json'), 'utf8'));
  it.each(fixture.cases as { size: [number, number]; out: [number, number]; rgb: number[] }[])(
    'antialiased bilinear $size -> $out equals Pillow within 1 level (Pillow rounds to 8 bits between passes)',
    ({ size: [w, h], out: [ow, oh], rgb }) => {
      const src = new Float32Array(w * h * 3);
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) src.set([(x * 37 + y * 91) % 256, (x * x + 3 * y) % 256, (((255 - x * y) % 256) + 256) % 256], (y * w + x) * 3);
      const ours = resizeBilinear(src, h, w, 3, oh, ow);
      for (let i = 0; i < rgb.length; i++) expect(Math.abs(ours[i] - rgb[i]), `value ${i}`).toBeLessThanOrEqual(1);
    },
  );

  it('caffe: BGR, ImageNet means subtracted, no scaling, stretched to 224x224', () => {
    const photo = { width: 50, height: 30, data: new Float32Array(50 * 30 * 3).map((_, i) => [10, 20, 30][i % 3]) };
    const p = preprocessImage(photo, PREPROCESSING.caffe);
    const plane = 224 * 224;
    expect(p.input.length).toBe(3 * plane);
    expect([p.input[0], p.input[plane], p.input[2 * plane]]).toEqual([30 - 103.939, 20 - 116.779, 10 - 123.68].map(Math.fround));
    expect(p.window).toEqual({ x: 0, y: 0, width: 50, height: 30 });
  });

  it('torchvision: shorter side to 256, center crop 224 (Python rounding), [0, 1] then mean/std', () => {
    // 400x300 -> 341x256; crop left round(58.5) = 58 (half to even, as Python), top 16.
    const photo = { width: 400, height: 300, data: new Float32Array(400 * 300 * 3).fill(255) };
    const p = preprocessImage(photo, PREPROCESSING.torchvision);
    expect(p.input[0]).toBeCloseTo((1 - 0.485) / 0.229, 5);
    expect(p.window.x).toBeCloseTo((58 * 400) / 341, 9);
    expect(p.window.y).toBeCloseTo((16 * 300) / 256, 9);
    expect(p.window.width).toBeCloseTo((224 * 400) / 341, 9);
  });
});

describe('heatmaps', () => {
  it('sum over channels', () => {
    expect(Array.from(channelSum([1, 2, 10, 20, 100, 200], 3, 1, 2))).toEqual([111, 222]);
  });
  it('symmetric normalisation puts 0 in the middle and the largest |R| at an end', () => {
    expect(Array.from(normalizeMap(Float32Array.of(-2, 0, 1, 2)))).toEqual([0, 0.5, 0.75, 1]);
    expect(Array.from(normalizeMap(Float32Array.of(-1, 0, 0.5), { normalize: 'absolute' }))).toEqual([1, 0, 0.5]);
    expect(Array.from(normalizeMap(Float32Array.of(1, 2, 3), { normalize: 'minmax' }))).toEqual([0, 0.5, 1]);
    expect(Array.from(normalizeMap(new Float32Array(3)))).toEqual([0.5, 0.5, 0.5]);
  });
  it('percentile clipping saturates the few largest values', () => {
    const m = Float32Array.from({ length: 100 }, (_, i) => i + 1);
    m[99] = 1e6;
    // The 98th percentile of 1..99, 1e6 is 98.02: 50 maps to 0.5 + 0.5 * 50 / 98.02.
    const t = normalizeMap(m, { clipPercentile: 98 });
    expect(t[99]).toBe(1);
    expect(t[49]).toBeCloseTo(0.5 + (0.5 * 50) / 98.02, 5); // without clipping: 0.500025
  });
  it('colour maps at their ends and middle', () => {
    const at = (name: string, t: number) => COLORMAPS[name].map(t).map((v) => Math.round(v * 255));
    expect([at('bwr', 0), at('bwr', 0.5), at('bwr', 1)]).toEqual([[0, 0, 255], [255, 255, 255], [255, 0, 0]]);
    expect([at('seismic', 0), at('seismic', 0.5), at('seismic', 1)]).toEqual([[0, 0, 77], [255, 255, 255], [128, 0, 0]]);
    expect([at('coldnhot', 0), at('coldnhot', 0.5), at('coldnhot', 1)]).toEqual([[0, 255, 255], [0, 0, 0], [255, 255, 255]]);
    expect([at('hot', 0), at('hot', 1 / 3), at('hot', 1)]).toEqual([[0, 0, 0], [255, 0, 0], [255, 255, 255]]);
    expect(at('gray', 0.5)).toEqual([128, 128, 128]);
    expect(Array.from(heatmapRgb(Float32Array.of(-1, 1)))).toEqual([0, 0, 255, 255, 0, 0]);
  });
  it('refuses NaN relevance and unknown colour maps', () => {
    expect(() => normalizeMap(Float32Array.of(1, NaN))).toThrow(/NaN or infinite/);
    expect(() => heatmapRgb(Float32Array.of(1), { cmap: 'jet' })).toThrow(/unknown colour map "jet"; known: bwr, seismic, coldnhot, hot, gray/);
  });
});

describe('.npy', () => {
  it('writes NumPy 1.0 format (64-byte aligned header) and reads it back', () => {
    const data = Float32Array.from({ length: 24 }, (_, i) => i / 7 - 1);
    const bytes = encodeNpy(data, [1, 2, 3, 4]);
    const header = new TextDecoder().decode(bytes.subarray(10, 10 + new DataView(bytes.buffer).getUint16(8, true)));
    // Byte for byte the header numpy 1.24's np.save writes for a float32 array of this shape.
    expect(header).toBe(`{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2, 3, 4), }${' '.repeat(52)}\n`);
    expect((10 + header.length) % 64).toBe(0);
    const back = decodeNpy(bytes);
    expect(back.shape).toEqual([1, 2, 3, 4]);
    expect(Array.from(back.data)).toEqual(Array.from(data));
    expect(decodeNpy(encodeNpy(Float32Array.of(5), [1])).shape).toEqual([1]);
  });
});
