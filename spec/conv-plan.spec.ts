// The convolution plan (src/wasm/conv-plan.ts) on layers of the families relprop runs, worked by hand
// from the rules it states. The kernels' results under every plan are held to the reference elsewhere
// (spec/wasm.spec.ts, spec/threads.spec.ts); here: that each layer gets the plan the README describes.
import { describe, expect, it } from 'vitest';
import { TRANSFORM } from '../src/wasm/constants.generated.js';
import { keepsWinogradWeights, partsFor, planConv, type ConvShape } from '../src/wasm/conv-plan.js';

/** A square convolution: k x k, stride s, padding p, cin -> cout at an h x h input. */
function conv(cin: number, cout: number, h: number, k: number, s = 1, p = (k - 1) >> 1, batch = 1): ConvShape {
  const ho = Math.floor((h + 2 * p - k) / s) + 1;
  return { batch, cin, h, w: h, cout, ho, wo: ho, kh: k, kw: k, sh: s, sw: s, pt: p, pl: p, dh: 1, dw: 1, depthwise: false };
}
const W = TRANSFORM.w;

describe('planConv', () => {
  it('runs 3x3 stride-1 layers with enough channels and outputs by Winograd, both ways', () => {
    const l = conv(128, 128, 28, 3);
    expect(planConv(l, W, 'forward', 1)).toMatchObject({ algorithm: 'winograd', parts: 1, split: 'blocks', chunks: 1, fuses: true });
    const t = planConv(conv(64, 128, 28, 3), W, 'transpose', 1);
    // The transposed pass is the convolution of dy with swapped channels, padded 2 - 1.
    expect(t).toMatchObject({ algorithm: 'winograd', fuses: true });
    expect(t.shape).toMatchObject({ cin: 128, cout: 64, h: 28, ho: 28, pt: 1, pl: 1 });
    // Too few input channels (a VGG's first layer), or too few outputs: the direct GEMM.
    expect(planConv(conv(3, 64, 224, 3), W, 'forward', 1).algorithm).toBe('gemm');
    expect(planConv(conv(512, 512, 6, 3), W, 'forward', 1).algorithm).toBe('gemm');
    expect(planConv(conv(64, 64, 56, 3, 2), W, 'forward', 1).algorithm).toBe('gemm');
  });

  it('keeps U from upload from 100 outputs up, not at 7x7', () => {
    expect(keepsWinogradWeights(conv(128, 128, 28, 3))).toBe(true);
    expect(keepsWinogradWeights(conv(512, 512, 7, 3))).toBe(false);
    expect(planConv(conv(512, 512, 7, 3), W, 'forward', 1).algorithm).toBe('winograd');
  });

  it('reads 1x1 inputs as they are, sampled when strided, else through im2col', () => {
    expect(planConv(conv(256, 64, 56, 1), W, 'forward', 1).layout).toBe('pointwise');
    expect(planConv(conv(256, 512, 56, 1, 2), W, 'forward', 1).layout).toBe('sampled');
    expect(planConv(conv(3, 64, 224, 7, 2), W, 'forward', 1).layout).toBe('im2col');
    // A padded 1x1 is not a pointwise one.
    expect(planConv(conv(16, 16, 8, 1, 1, 1), W, 'forward', 1).layout).toBe('im2col');
  });

  it("fuses a rule's step everywhere but into col2im and the flat rule", () => {
    expect(planConv(conv(3, 64, 224, 7, 2), W, 'forward', 1).fuses).toBe(true);
    expect(planConv(conv(3, 64, 224, 7, 2), W, 'transpose', 1).fuses).toBe(false);
    expect(planConv(conv(256, 512, 56, 1, 2), W, 'transpose', 1).fuses).toBe(true);
    const flat = planConv(conv(128, 128, 28, 3), TRANSFORM.ones, 'forward', 2);
    expect(flat).toMatchObject({ algorithm: 'ones', fuses: false, parts: 1, split: 'blocks' });
    // Its one-channel transpose through col2im shares by channels (of which there is one).
    expect(planConv(conv(128, 128, 28, 3), TRANSFORM.ones, 'transpose', 2).split).toBe('channels');
  });

  it('splits a pass across threads as the README says', () => {
    // 128 channels at 28x28: 196 tiles, 25 panels of 8. Forward: by tiles, 4 chunks a part.
    expect(planConv(conv(128, 128, 28, 3), W, 'forward', 2)).toMatchObject({ parts: 2, split: 'blocks', chunks: 8 });
    // Transposed: chunks of at least 4 panels: floor(25 / 8) = 3 a part.
    expect(planConv(conv(128, 128, 28, 3), W, 'transpose', 2)).toMatchObject({ parts: 2, split: 'blocks', chunks: 6 });
    // 256 channels at 14x14, 7 panels: the transposed pass takes the channels below 8 panels a part.
    expect(planConv(conv(256, 256, 14, 3), W, 'transpose', 2)).toMatchObject({ split: 'channels', chunks: 1 });
    expect(planConv(conv(256, 256, 14, 3), W, 'forward', 2)).toMatchObject({ split: 'blocks', chunks: 6 });
    // GEMM: by columns when each part gets 256 or more (3136 at 56x56; 49 at 7x7 do not).
    expect(planConv(conv(64, 256, 56, 1), W, 'forward', 2)).toMatchObject({ split: 'blocks', chunks: 8 });
    expect(planConv(conv(2048, 512, 7, 1), W, 'forward', 2)).toMatchObject({ split: 'channels', chunks: 1 });
    expect(planConv(conv(2048, 512, 7, 1, 1, 0, 16), W, 'forward', 2)).toMatchObject({ split: 'blocks', chunks: 8 });
    // Transposed by columns only where each column of dx is its own (pointwise).
    expect(planConv(conv(64, 256, 56, 1), W, 'transpose', 2).split).toBe('blocks');
    expect(planConv(conv(256, 512, 56, 1, 2), W, 'transpose', 2).split).toBe('channels');
    expect(planConv(conv(64, 64, 56, 3, 2), W, 'transpose', 2).split).toBe('channels');
  });

  it('keeps small passes on one thread and depthwise layers on their kernel, split by channels', () => {
    expect(partsFor(2 ** 17 - 1, 2)).toBe(1);
    expect(partsFor(2 ** 17, 2)).toBe(2);
    expect(partsFor(2 ** 30, 1)).toBe(1);
    expect(planConv(conv(8, 8, 8, 3), W, 'forward', 2).parts).toBe(1);
    const dw = { ...conv(96, 96, 112, 3, 2), depthwise: true };
    expect(planConv(dw, W, 'forward', 2)).toMatchObject({ algorithm: 'depthwise', fuses: true, parts: 2, split: 'channels' });
    expect(planConv(dw, TRANSFORM.ones, 'transpose', 2).algorithm).toBe('depthwise');
  });
});
