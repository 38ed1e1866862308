import { divideStabilized } from '../rules/stabilizer.js';
import type { Ops, Vec } from '../rules/types.js';

/** The reference engine's tensor arithmetic: plain float64 loops. */
export const referenceOps: Ops<Vec> = {
  pos: (a) => a.map((v) => (v > 0 ? v : 0)),
  neg: (a) => a.map((v) => (v < 0 ? v : 0)),
  ones: (like) => new Float64Array(like.length).fill(1),
  add: (a, b) => a.map((v, i) => v + b[i]),
  sub: (a, b) => a.map((v, i) => v - b[i]),
  mul: (a, b) => a.map((v, i) => v * b[i]),
  scale: (a, k) => a.map((v) => v * k),
  divStab: divideStabilized,
  where: (R, z, sign) => R.map((r, i) => ((sign === '+' ? z[i] > 0 : z[i] < 0) ? r : 0)),
  fromHost: (v) => v,
  toHost: (a) => a,
  isNonNegative: (a) => a.every((v) => v >= 0),
};
