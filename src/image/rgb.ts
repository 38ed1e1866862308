/** A decoded photo: RGB in 0..255, interleaved, row-major. */
export interface RgbImage {
  width: number;
  height: number;
  /** height x width x 3 */
  data: Float32Array;
}

/**
 * Most pixels a photo may have (a 100-megapixel image), checked against the header before decoding.
 * Decoding one costs about 20 bytes a pixel at the peak (the decoder's RGBA, its own working buffers,
 * our float RGB): 2 GB at the limit.
 */
export const MAX_PIXELS = 100_000_000;
/** Largest image file read (a 100-megapixel PNG without compression is 400 MB). */
export const MAX_IMAGE_FILE_BYTES = 1024 ** 3;

/** RGBA bytes to RGB, transparent pixels composited over white, as a viewer shows them. */
export function rgbaToRgb(width: number, height: number, data: ArrayLike<number>): RgbImage {
  const rgb = new Float32Array(width * height * 3);
  for (let p = 0; p < width * height; p++) {
    const a = data[p * 4 + 3] / 255;
    for (let c = 0; c < 3; c++) rgb[p * 3 + c] = data[p * 4 + c] * a + 255 * (1 - a);
  }
  return { width, height, data: rgb };
}
