/**
 * The error function in float64, to about 1e-15: below |x| = 2 its Maclaurin series (the terms' growth
 * costs at most a digit there; at 2.5 it lost 2), from 2 on 1 - erfc by erfc's continued fraction, from 60 terms
 * down (x + (1/2) / (x + 1 / (x + (3/2) / ...))). Checked against Python's math.erf in spec/ops.transformer.spec.ts.
 */
export function erf(x: number): number {
  const a = Math.abs(x);
  let r: number;
  if (a < 2) {
    const a2 = a * a;
    let term = a;
    let sum = a;
    for (let n = 1; n < 200; n++) {
      term *= -a2 / n;
      const t = term / (2 * n + 1);
      sum += t;
      if (Math.abs(t) <= 1e-17 * Math.abs(sum)) break;
    }
    r = (2 / Math.sqrt(Math.PI)) * sum;
  } else {
    let f = a;
    for (let k = 60; k >= 1; k--) f = a + k / 2 / f;
    r = 1 - Math.exp(-a * a) / (Math.sqrt(Math.PI) * f);
  }
  return x < 0 ? -r : r;
}
