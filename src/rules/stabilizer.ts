import type { Vec } from './types.js';

/**
 * stab(z) = z + eps * sign(z), with sign(0) = +1 (Zennit's convention): moves z away from zero
 * without flipping its sign, so R / stab(z) is finite and keeps the sign of R / z.
 */
export function stabilize(z: number, eps: number): number {
  return z + (z >= 0 ? eps : -eps);
}

export const DEFAULT_STABILIZER = 1e-6;

/**
 * The transformer rules' (and the transformer composites' epsilon): LXT's efficient form has none, and
 * 1e-6 moved a small ViT's relevance by 5e-3, its patch embedding's outputs coming down to 3e-6.
 */
export const DEFAULT_TRANSFORMER_STABILIZER = 1e-9;

/**
 * s = R / stab(z) elementwise. With eps = 0 this is a plain division whose zero denominators give 0
 * (relevance that meets a zero sum is dropped instead of becoming infinite).
 */
export function divideStabilized(R: Vec, z: Vec, eps: number): Vec {
  const s = new Float64Array(R.length);
  for (let i = 0; i < R.length; i++) {
    const d = eps === 0 ? z[i] : stabilize(z[i], eps);
    s[i] = d === 0 ? 0 : R[i] / d;
  }
  return s;
}
