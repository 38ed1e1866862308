import type { Transform } from '../rules/types.js';
import { ACTIVATION, BINARY, EPILOGUE, GEOM, GEOM_BYTES, LAYOUT, SPLIT, TRANSFORM, UNARY } from './constants.generated.js';

// Shared with the kernels: generated from scripts/kernel-constants.mjs at build time.
export { ACTIVATION, BINARY, EPILOGUE, GEOM, GEOM_BYTES, LAYOUT, SPLIT, UNARY };

/** A rule's weight transform as the kernels' code and gamma. */
export function transformCode(t: Transform): { code: number; gamma: number } {
  if (typeof t === 'object') return { code: TRANSFORM[t.part === '+' ? 'gamma+' : 'gamma-'], gamma: t.gamma };
  return { code: TRANSFORM[t], gamma: 0 };
}
