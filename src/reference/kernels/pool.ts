import type { Pads, Pair } from '../../graph/node.js';

/** What a pooling node says of its window (MaxPool2d and AvgPool2d nodes are ones). */
interface PoolWindow {
  kernel: Pair;
  stride: Pair;
  pads: Pads;
}

/** An average pool's window, and whether padded positions count in its mean. */
interface AvgWindow extends PoolWindow {
  countIncludePad: boolean;
}

interface PoolShape {
  batch: number;
  c: number;
  h: number;
  w: number;
  ho: number;
  wo: number;
}

export function poolShape(batch: number, inShape: readonly number[], outShape: readonly number[]): PoolShape {
  return { batch, c: inShape[0], h: inShape[1], w: inShape[2], ho: outShape[1], wo: outShape[2] };
}

/**
 * Max pooling; also returns, for every output, the flat input index of its winner (the first maximum
 * in row-major window order, as PyTorch), which both the gradient and LRP's winner-take-all route to.
 */
export function maxPool(x: Float64Array, s: PoolShape, node: PoolWindow): { y: Float64Array; winners: Int32Array } {
  const { batch, c, h, w, ho, wo } = s;
  const [kh, kw] = node.kernel;
  const [sh, sw] = node.stride;
  const [pt, pl] = node.pads;
  const y = new Float64Array(batch * c * ho * wo);
  const winners = new Int32Array(y.length);
  for (let nc = 0; nc < batch * c; nc++) {
    const base = nc * h * w;
    for (let oh = 0; oh < ho; oh++) {
      for (let ow = 0; ow < wo; ow++) {
        let best = -Infinity;
        let arg = -1;
        for (let i = 0; i < kh; i++) {
          const ih = oh * sh - pt + i;
          if (ih < 0 || ih >= h) continue;
          for (let j = 0; j < kw; j++) {
            const iw = ow * sw - pl + j;
            if (iw < 0 || iw >= w) continue;
            const v = x[base + ih * w + iw];
            if (v > best || arg < 0) {
              best = v;
              arg = base + ih * w + iw;
            }
          }
        }
        const o = (nc * ho + oh) * wo + ow;
        y[o] = best;
        winners[o] = arg;
      }
    }
  }
  return { y, winners };
}

/** Sends every output's value to its winner; inputs that win several windows collect them all. */
export function maxPoolRoute(dy: Float64Array, winners: Int32Array, inLength: number): Float64Array {
  const dx = new Float64Array(inLength);
  for (let o = 0; o < dy.length; o++) dx[winners[o]] += dy[o];
  return dx;
}

function avgWindows(s: PoolShape, node: AvgWindow, visit: (o: number, inIndex: number, scale: number) => void): void {
  const { batch, c, h, w, ho, wo } = s;
  const [kh, kw] = node.kernel;
  const [sh, sw] = node.stride;
  const [pt, pl, pb, pr] = node.pads;
  for (let nc = 0; nc < batch * c; nc++) {
    const base = nc * h * w;
    for (let oh = 0; oh < ho; oh++) {
      const h0 = oh * sh - pt;
      const ih0 = Math.max(h0, 0);
      const ih1 = Math.min(h0 + kh, h);
      for (let ow = 0; ow < wo; ow++) {
        const w0 = ow * sw - pl;
        const iw0 = Math.max(w0, 0);
        const iw1 = Math.min(w0 + kw, w);
        // With count_include_pad the divisor counts padding but not what lies beyond it (PyTorch).
        const count = node.countIncludePad
          ? (Math.min(h0 + kh, h + pb) - h0) * (Math.min(w0 + kw, w + pr) - w0)
          : (ih1 - ih0) * (iw1 - iw0);
        const o = (nc * ho + oh) * wo + ow;
        for (let ih = ih0; ih < ih1; ih++) for (let iw = iw0; iw < iw1; iw++) visit(o, base + ih * w + iw, 1 / count);
      }
    }
  }
}

export function avgPool(x: Float64Array, s: PoolShape, node: AvgWindow): Float64Array {
  const y = new Float64Array(s.batch * s.c * s.ho * s.wo);
  avgWindows(s, node, (o, i, scale) => {
    y[o] += x[i] * scale;
  });
  return y;
}

export function avgPoolTranspose(dy: Float64Array, s: PoolShape, node: AvgWindow): Float64Array {
  const dx = new Float64Array(s.batch * s.c * s.h * s.w);
  avgWindows(s, node, (o, i, scale) => {
    dx[i] += dy[o] * scale;
  });
  return dx;
}

export function globalAvgPool(x: Float64Array, batch: number, c: number, hw: number): Float64Array {
  const y = new Float64Array(batch * c);
  for (let nc = 0; nc < batch * c; nc++) {
    let acc = 0;
    for (let i = 0; i < hw; i++) acc += x[nc * hw + i];
    y[nc] = acc / hw;
  }
  return y;
}

export function globalAvgPoolTranspose(dy: Float64Array, batch: number, c: number, hw: number): Float64Array {
  const dx = new Float64Array(batch * c * hw);
  for (let nc = 0; nc < batch * c; nc++) dx.fill(dy[nc] / hw, nc * hw, (nc + 1) * hw);
  return dx;
}
