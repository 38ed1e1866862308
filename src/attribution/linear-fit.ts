/**
 * A weighted linear model with an intercept, as scikit-learn's Ridge (or LinearRegression with alpha 0)
 * fits one with sample_weight: X and y are centred on their weighted means, then
 *   beta = argmin sum_i w_i (y_i - x_i . beta)^2 + alpha |beta|^2,   intercept = mean(y) - mean(x) . beta,
 * solved from the normal equations (X^T W X + alpha I) beta = X^T W y in float64 (LIME has a few hundred
 * features at most). A feature the weighted samples never vary (always kept, or always removed) gets
 * coefficient 0, as the minimum-norm least-squares solution gives it.
 */
export function weightedLinearFit(X: ArrayLike<number>, y: ArrayLike<number>, weights: ArrayLike<number>, features: number, alpha: number): { coefficients: Float64Array; intercept: number } {
  const n = y.length;
  const F = features;
  let total = 0;
  for (let i = 0; i < n; i++) total += weights[i];
  const meanX = new Float64Array(F);
  let meanY = 0;
  for (let i = 0; i < n; i++) {
    const wi = weights[i] / total;
    meanY += wi * y[i];
    for (let f = 0; f < F; f++) meanX[f] += wi * X[i * F + f];
  }
  const A = new Float64Array(F * F);
  const b = new Float64Array(F);
  const row = new Float64Array(F);
  for (let i = 0; i < n; i++) {
    const wi = weights[i];
    for (let f = 0; f < F; f++) row[f] = X[i * F + f] - meanX[f];
    const yi = y[i] - meanY;
    for (let f = 0; f < F; f++) {
      const wr = wi * row[f];
      b[f] += wr * yi;
      for (let g = f; g < F; g++) A[f * F + g] += wr * row[g];
    }
  }
  let largest = 0;
  for (let f = 0; f < F; f++) largest = Math.max(largest, A[f * F + f]);
  const varies = Array.from({ length: F }, (_, f) => f).filter((f) => A[f * F + f] > largest * 1e-12);
  const m = varies.length;
  const Am = new Float64Array(m * m);
  const bm = Float64Array.from(varies, (f) => b[f]);
  varies.forEach((f, i) => {
    varies.forEach((g, j) => {
      Am[i * m + j] = f <= g ? A[f * F + g] : A[g * F + f];
    });
    Am[i * m + i] += alpha;
  });
  const solved = solve(Am, bm, m);
  const coefficients = new Float64Array(F);
  varies.forEach((f, i) => {
    coefficients[f] = solved[i];
  });
  let intercept = meanY;
  for (let f = 0; f < F; f++) intercept -= meanX[f] * coefficients[f];
  return { coefficients, intercept };
}

/** A x = b by Gaussian elimination with partial pivoting (A symmetric positive definite here). */
function solve(A: Float64Array, b: Float64Array, n: number): Float64Array {
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(A[r * n + c]) > Math.abs(A[p * n + c])) p = r;
    if (p !== c) {
      for (let k = 0; k < n; k++) [A[c * n + k], A[p * n + k]] = [A[p * n + k], A[c * n + k]];
      [b[c], b[p]] = [b[p], b[c]];
    }
    for (let r = c + 1; r < n; r++) {
      const m = A[r * n + c] / A[c * n + c];
      if (m === 0) continue;
      for (let k = c; k < n; k++) A[r * n + k] -= m * A[c * n + k];
      b[r] -= m * b[c];
    }
  }
  const x = new Float64Array(n);
  for (let c = n - 1; c >= 0; c--) {
    let s = b[c];
    for (let k = c + 1; k < n; k++) s -= A[c * n + k] * x[k];
    x[c] = s / A[c * n + c];
  }
  return x;
}
