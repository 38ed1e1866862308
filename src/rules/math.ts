import type { Vec } from './types.js';

export const pos = (a: ArrayLike<number>): Vec => Float64Array.from(a, (v) => (v > 0 ? v : 0));
export const neg = (a: ArrayLike<number>): Vec => Float64Array.from(a, (v) => (v < 0 ? v : 0));
export const ones = (n: number): Vec => new Float64Array(n).fill(1);
export const square = (a: ArrayLike<number>): Vec => Float64Array.from(a, (v) => v * v);
/** a + k * b, elementwise */
export const addScaled = (a: ArrayLike<number>, k: number, b: ArrayLike<number>): Vec => Float64Array.from(a, (v, i) => v + k * b[i]);
export const add = (...xs: Vec[]): Vec => xs.reduce((acc, x) => acc.map((v, i) => v + x[i]));
export const sub = (a: Vec, b: Vec): Vec => a.map((v, i) => v - b[i]);
export const mul = (a: Vec, b: Vec): Vec => a.map((v, i) => v * b[i]);
export const scale = (a: Vec, k: number): Vec => a.map((v) => v * k);
export const maybe = <T>(a: T | null, f: (a: T) => Vec): Vec | null => (a === null ? null : f(a));
export const sum = (a: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s;
};
