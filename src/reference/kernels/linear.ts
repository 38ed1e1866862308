/** y = W x + b for a batch of row vectors; W is [out, in] (PyTorch layout). */
export function linear(x: Float64Array, batch: number, nin: number, nout: number, weight: ArrayLike<number>, bias: ArrayLike<number> | null): Float64Array {
  const y = new Float64Array(batch * nout);
  for (let n = 0; n < batch; n++) {
    for (let o = 0; o < nout; o++) {
      let acc = bias ? bias[o] : 0;
      const wBase = o * nin;
      const xBase = n * nin;
      for (let i = 0; i < nin; i++) acc += weight[wBase + i] * x[xBase + i];
      y[n * nout + o] = acc;
    }
  }
  return y;
}

/** dx = W^T dy. */
export function linearTranspose(dy: Float64Array, batch: number, nin: number, nout: number, weight: ArrayLike<number>): Float64Array {
  const dx = new Float64Array(batch * nin);
  for (let n = 0; n < batch; n++) {
    for (let o = 0; o < nout; o++) {
      const gv = dy[n * nout + o];
      if (gv === 0) continue;
      const wBase = o * nin;
      const xBase = n * nin;
      for (let i = 0; i < nin; i++) dx[xBase + i] += gv * weight[wBase + i];
    }
  }
  return dx;
}
