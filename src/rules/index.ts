import { fail } from '../errors.js';
import { alphaBetaRule } from './alpha-beta.js';
import { epsilonRule } from './epsilon.js';
import { flatRule } from './flat.js';
import { gammaRule } from './gamma.js';
import { gradientRule } from './gradient.js';
import { lrp0Rule } from './lrp0.js';
import { normRule } from './norm.js';
import { passRule } from './pass.js';
import { winnerTakeAllRule } from './winner-take-all.js';
import { wSquareRule } from './wsquare.js';
import { zBoxRule } from './zbox.js';
import { zPlusRule } from './zplus.js';
import { softmaxRule } from './softmax.js';
import { uniformRule } from './uniform.js';
import { heldFirstRule } from './held-first.js';
import { layerNormRule } from './layernorm.js';
import { proportionalRule } from './proportional.js';
import type { BoundSpec, Rule } from './types.js';

export type { Rule, AffineRule, NormRule, PassRule, GradientRule, JacobianRule, AffineLayer, LinearMap, BoundSpec, Arithmetic, Transform, Vec } from './types.js';
export { stabilize, divideStabilized, DEFAULT_STABILIZER } from './stabilizer.js';

/** Parameters any rule may take; each rule reads the ones it has. */
export interface RuleParams {
  epsilon?: number;
  stabilizer?: number;
  gamma?: number;
  alpha?: number;
  beta?: number;
  low?: BoundSpec;
  high?: BoundSpec;
  /** Leave biases out (Zennit's zero_params=['bias']). */
  ignoreBias?: boolean;
  /** z-box: bound by each sample's own min and max, even when the model's input range is known. */
  sampleBounds?: boolean;
}

/** A rule by name, or a name with parameters: `'epsilon'`, `{ rule: 'epsilon', epsilon: 0.25 }`. */
export type RuleSpec = string | ({ rule: string } & RuleParams);

interface RuleInfo {
  /** Canonical name, then aliases. */
  names: string[];
  formula: string;
  create(p: RuleParams): Rule;
}

/** Every rule, with a one-line formula for `relprop composites` and `relprop info`. */
export const RULES: readonly RuleInfo[] = [
  { names: ['lrp0', 'zero', 'lrp-0'], formula: 'R_j = sum_k x_j w_jk / z_k R_k', create: (p) => lrp0Rule(p) },
  { names: ['epsilon', 'eps'], formula: 'R_j = sum_k x_j w_jk / (z_k + eps sign z_k) R_k', create: (p) => epsilonRule(p) },
  { names: ['gamma'], formula: 'R_j = sum_k x_j (w_jk + g w_jk^+) / sum_i x_i (w_ik + g w_ik^+) R_k (signed form)', create: (p) => gammaRule(p) },
  { names: ['alpha-beta', 'alphabeta'], formula: 'R_j = sum_k (a (x w)_jk^+ / z_k^+ - b (x w)_jk^- / z_k^-) R_k, a - b = 1', create: (p) => alphaBetaRule(p) },
  { names: ['zplus', 'z-plus', 'z+'], formula: 'R_j = sum_k (x w)_jk^+ / sum_i (x w)_ik^+ R_k', create: (p) => zPlusRule(p) },
  { names: ['flat'], formula: 'R_j = sum_k 1 / sum_i 1 R_k', create: (p) => flatRule(p) },
  { names: ['wsquare', 'w-square', 'w2'], formula: 'R_j = sum_k w_jk^2 / sum_i w_ik^2 R_k', create: (p) => wSquareRule(p) },
  { names: ['zbox', 'z-box'], formula: 'R_j = sum_k (x_j w_jk - l_j w_jk^+ - h_j w_jk^-) / z_k^B R_k', create: (p) => zBoxRule(p) },
  { names: ['norm'], formula: 'R_j = sum_k x_j / (sum_i x_i) R_k (sums, average pools)', create: (p) => normRule(p) },
  { names: ['pass'], formula: 'R_in = R_out', create: () => passRule() },
  { names: ['wta', 'winner-take-all'], formula: 'R_j = sum_k [j wins window k] R_k', create: () => winnerTakeAllRule() },
  { names: ['gradient'], formula: 'R_in = (d out / d in)^T R_out', create: () => gradientRule() },
  { names: ['softmax'], formula: 'R_j = x_j (R_j - s_j sum_k R_k) (a softmax, x its input, s its output)', create: () => softmaxRule() },
  { names: ['uniform'], formula: 'R_A = A (R / 2Z B^T), R_B = B (A^T R / 2Z) (a product Z = A B of two values)', create: (p) => uniformRule(p) },
  { names: ['held-first'], formula: 'R_V = V (A^T R / Z), R_A = 0 (a product Z = A V, A held)', create: (p) => heldFirstRule(p) },
  { names: ['layernorm'], formula: 'R_x = x (t - mean t), t = w R / (sigma y) (LayerNorm, sigma held)', create: (p) => layerNormRule(p) },
  { names: ['proportional'], formula: 'R_x = x R / (x + c) (a value plus a constant)', create: (p) => proportionalRule(p) },
];

const RULE_KEYS = new Set(['rule', 'epsilon', 'stabilizer', 'gamma', 'alpha', 'beta', 'low', 'high', 'ignoreBias', 'sampleBounds']);

export function findRule(name: string): RuleInfo | undefined {
  const key = name.toLowerCase();
  return RULES.find((r) => r.names.includes(key));
}

/** Builds a rule from its spec; `defaults` fill parameters the spec leaves out. */
export function createRule(spec: RuleSpec, defaults: RuleParams = {}): Rule {
  const { rule: name, ...given } = typeof spec === 'string' ? { rule: spec } : spec;
  if (typeof name !== 'string') fail('UNKNOWN_RULE', `a rule spec needs a "rule" name, got ${JSON.stringify(spec)}`);
  const info = findRule(name);
  if (!info) fail('UNKNOWN_RULE', `unknown rule "${name}"; known rules: ${RULES.map((r) => r.names[0]).join(', ')}`);
  for (const key of Object.keys(given)) {
    if (!RULE_KEYS.has(key)) fail('BAD_OPTION', `rule "${name}" got unknown parameter "${key}"`);
  }
  const params: RuleParams = { ...defaults, ...given };
  for (const key of ['epsilon', 'stabilizer', 'gamma', 'alpha', 'beta'] as const) {
    const v = params[key];
    if (v !== undefined && !(typeof v === 'number' && Number.isFinite(v) && v >= 0)) {
      fail('BAD_OPTION', `rule "${name}": ${key} must be a finite number >= 0, got ${String(v)}`);
    }
  }
  return info.create(params);
}
