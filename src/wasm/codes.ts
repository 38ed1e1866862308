import type { Transform } from '../rules/types.js';

/** Transform codes of assembly/transform.ts. */
export function transformCode(t: Transform): { code: number; gamma: number } {
  if (typeof t === 'object') return { code: t.part === '+' ? 5 : 6, gamma: t.gamma };
  return { code: { w: 0, 'w+': 1, 'w-': 2, ones: 3, 'w^2': 4 }[t], gamma: 0 };
}

/** Slots of the convolution geometry block read by assembly/conv.ts (i32, two f32, then the epilogue: i32, i32, f32). */
export const GEOM = {
  batch: 0, cin: 1, h: 2, w: 3, cout: 4, ho: 5, wo: 6, kh: 7, kw: 8, sh: 9, sw: 10, pt: 11, pl: 12, dh: 13, dw: 14,
  tW: 15, tB: 16, relu: 17, gammaW: 18, gammaB: 19, epilogue: 20, epilogueOperand: 21, epilogueEps: 22,
} as const;
export const GEOM_BYTES = 23 * 4;

/** What a convolution does with its values (assembly/epilogue.ts): op / stab(v), op * v, out + op * v. */
export const EPILOGUE = { none: 0, div: 1, mul: 2, mac: 3 } as const;

/** mac accumulates: out = out + a * b. */
export const BINARY = { add: 0, sub: 1, mul: 2, mac: 3 } as const;
export const UNARY = { pos: 0, neg: 1, scale: 2, fill: 3 } as const;
