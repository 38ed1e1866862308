/**
 * A series of input images each a small change of the one before (a region-perturbation curve): the
 * first image, then per step the box that changed and its new values, so that an engine can compute each
 * image from the one before (src/wasm/incremental-forward.ts) and a series of hundreds of images costs
 * the memory of one.
 */
import type { Shape } from './node.js';

/** Rows [r0, r1) and columns [c0, c1) of an image's plane, and every channel's new values there (C x rows x cols). */
export interface InputChange {
  readonly box: readonly [number, number, number, number];
  readonly values: Float32Array;
}

/** The change from image a to image b (C x H x W each): the box of every position where a channel differs; null if none. */
export function changeBetween(a: Float32Array, b: Float32Array, [C, H, W]: Shape): InputChange | null {
  let [r0, r1, c0, c1] = [H, 0, W, 0];
  for (let c = 0; c < C; c++) {
    for (let i = 0; i < H; i++) {
      const row = (c * H + i) * W;
      for (let j = 0; j < W; j++) {
        const [u, v] = [a[row + j], b[row + j]];
        // A NaN put in its own place again is no change.
        if (u !== v && (u === u || v === v)) {
          if (i < r0) r0 = i;
          if (i >= r1) r1 = i + 1;
          if (j < c0) c0 = j;
          if (j >= c1) c1 = j + 1;
        }
      }
    }
  }
  if (r1 <= r0) return null;
  const values = new Float32Array(C * (r1 - r0) * (c1 - c0));
  for (let c = 0, at = 0; c < C; c++) {
    for (let i = r0; i < r1; i++, at += c1 - c0) values.set(b.subarray((c * H + i) * W + c0, (c * H + i) * W + c1), at);
  }
  return { box: [r0, r1, c0, c1], values };
}

/** Writes a change into an image of C x H x W. */
export function applyChange(image: Float32Array, [C, H, W]: Shape, { box: [r0, r1, c0, c1], values }: InputChange): void {
  for (let c = 0, at = 0; c < C; c++) {
    for (let i = r0; i < r1; i++, at += c1 - c0) image.set(values.subarray(at, at + c1 - c0), (c * H + i) * W + c0);
  }
}

/** A change that changes nothing: a series step whose image is the one before. */
export const NO_CHANGE: InputChange = { box: [0, 0, 0, 0], values: new Float32Array(0) };
