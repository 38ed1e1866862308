/**
 * The geometry block a convolution kernel call reads (assembly/geometry.ts): its shape, weight and bias
 * transforms, ReLU flag, epilogue and plan, made from the arena for each call.
 */
import type { Arena } from './arena.js';
import { GEOM, GEOM_BYTES, LAYOUT, SPLIT } from './codes.js';
import type { ConvPlan } from './conv-plan.js';
import { NO_EPILOGUE } from './lowering.js';

/** A weight or bias transform's kernel code and its gamma (-1: no bias). */
export type Code = { code: number; gamma: number };
export const PLAIN: Code = { code: 0, gamma: 0 };
export const NO_BIAS: Code = { code: -1, gamma: 0 };

/**
 * A call's geometry, transforms, fused ReLU (null, or the top it clamps to: Infinity for a ReLU, 6 for ReLU6), epilogue and plan (assembly/geometry.ts), in a block of its
 * own from the arena: every call gets its copy, so a convolution run while another's arguments are
 * prepared (a deferred input being computed) cannot change what the other reads.
 */
export function geometryBlock(arena: Arena, name: string, plan: ConvPlan, tw: Code, tb: Code, relu: number | null, epilogue = NO_EPILOGUE): number {
  const geom = arena.alloc(GEOM_BYTES, `the geometry of "${name}"`);
  const g = arena.i32(geom, GEOM_BYTES / 4);
  const f = arena.f32(geom, GEOM_BYTES / 4);
  const s = plan.shape;
  for (const key of ['batch', 'cin', 'h', 'w', 'cout', 'ho', 'wo', 'kh', 'kw', 'sh', 'sw', 'pt', 'pl', 'dh', 'dw'] as const) g[GEOM[key]] = s[key];
  g[GEOM.tW] = tw.code;
  g[GEOM.tB] = tb.code;
  g[GEOM.relu] = relu === null ? 0 : 1;
  f[GEOM.reluTop] = relu ?? Infinity;
  f[GEOM.gammaW] = tw.gamma;
  f[GEOM.gammaB] = tb.gamma;
  g[GEOM.epilogue] = epilogue.mode;
  g[GEOM.epilogueOperand] = epilogue.operand;
  f[GEOM.epilogueEps] = epilogue.eps;
  g[GEOM.layout] = LAYOUT[plan.layout];
  g[GEOM.split] = SPLIT[plan.split];
  g[GEOM.chunks] = plan.chunks;
  return geom;
}
