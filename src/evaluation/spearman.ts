/**
 * Spearman's rank correlation as scipy.stats.spearmanr computes it (Quantus's correlation_spearman):
 * each array ranked, ties given the mean of the ranks they span (rankdata's 'average'), then Pearson's
 * correlation of the ranks. NaN where either array is constant (its ranks have no spread), as scipy's.
 */
export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError(`spearman: ${a.length} values against ${b.length}`);
  // Checked exactly: the ranks' spread, summed in floating point, comes to 1e-15 rather than 0 for a
  // constant map of 150,528 values (an all-zero Grad-CAM read as uncorrelated instead of undefined).
  if (constant(a) || constant(b)) return NaN;
  return pearson(ranks(a), ranks(b));
}

function constant(a: ArrayLike<number>): boolean {
  for (let i = 1; i < a.length; i++) if (a[i] !== a[0]) return false;
  return true;
}

/** Ranks from 1, ties the mean of theirs. */
export function ranks(a: ArrayLike<number>): Float64Array {
  const order = Array.from({ length: a.length }, (_, i) => i).sort((i, j) => a[i] - a[j]);
  const r = new Float64Array(a.length);
  for (let start = 0; start < order.length; ) {
    let end = start + 1;
    while (end < order.length && a[order[end]] === a[order[start]]) end++;
    // Positions start..end-1 hold equal values: ranks start+1..end, their mean (start + 1 + end) / 2.
    for (let k = start; k < end; k++) r[order[k]] = (start + 1 + end) / 2;
    start = end;
  }
  return r;
}

function pearson(x: Float64Array, y: Float64Array): number {
  const n = x.length;
  let [mx, my] = [0, 0];
  for (let i = 0; i < n; i++) [mx, my] = [mx + x[i] / n, my + y[i] / n];
  let [sxy, sxx, syy] = [0, 0, 0];
  for (let i = 0; i < n; i++) {
    const [dx, dy] = [x[i] - mx, y[i] - my];
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  return sxy / Math.sqrt(sxx * syy);
}
