import { divideStabilized, stabilize } from '../rules/stabilizer.js';
import type { Arithmetic, Vec } from '../rules/types.js';

/** The reference engine's tensor arithmetic: plain float64 loops. */
export const referenceArithmetic: Arithmetic<Vec> = {
  pos: (a) => a.map((v) => (v > 0 ? v : 0)),
  neg: (a) => a.map((v) => (v < 0 ? v : 0)),
  ones: (like) => new Float64Array(like.length).fill(1),
  add: (a, b) => a.map((v, i) => v + b[i]),
  sub: (a, b) => a.map((v, i) => v - b[i]),
  mul: (a, b) => a.map((v, i) => v * b[i]),
  scale: (a, k) => a.map((v) => v * k),
  divStab: divideStabilized,
  onlyWherePositive: (R, z) => R.every((r, i) => r === 0 || z[i] > 0),
  gammaQuotients: (R, z, q, g, eps) => {
    const [a, d] = [new Float64Array(R.length), new Float64Array(R.length)];
    for (let i = 0; i < R.length; i++) {
      if (z[i] === 0) continue;
      const up = z[i] > 0;
      const zz = up ? z[i] + g * q[i] : z[i] + g * (z[i] - q[i]);
      const den = eps === 0 ? zz : stabilize(zz, eps);
      const s = den === 0 ? 0 : R[i] / den;
      a[i] = up ? s : (1 + g) * s;
      d[i] = up ? g * s : -g * s;
    }
    return [a, d];
  },
  fromHost: (v) => v,
  toHost: (a) => a,
  isNonNegative: (a) => a.every((v) => v >= 0),
};
