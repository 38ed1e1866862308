/**
 * The points (alphas) and weights (step sizes) of integrated gradients' path integral over [0, 1], as
 * Captum's `captum/attr/_utils/approximation_methods.py` makes them, quirks included:
 * - riemann-left:      alpha_i = i / n,            weight 1/n          (i = 0 .. n-1)
 * - riemann-right:     alpha_i = (i + 1) / n,      weight 1/n
 * - riemann-middle:    alpha_i = (i + 1/2) / n,    weight 1/n
 * - riemann-trapezoid: alpha_i = i / (n - 1),      weight 1/n, halved at both ends. Captum's quirk, kept:
 *   the weights sum to (n - 1)/n, not 1 (the trapezoid rule on n points spaced 1/(n-1) would weigh
 *   1/(n-1)), so the attributions sum to (n - 1)/n of logit(x) - logit(baseline) on a linear model.
 * - gauss-legendre (Captum's default): the n-point Gauss-Legendre rule mapped from [-1, 1] to [0, 1]:
 *   alpha_i = (1 + t_i)/2, weight w_i/2, exact for polynomials of degree 2n - 1.
 * Captum makes the Riemann points with torch.linspace in float32; these are float64 (they differ by
 * less than 6e-8, float32's spacing).
 */
import { fail } from '../errors.js';

export type Integration = 'gauss-legendre' | 'riemann-left' | 'riemann-right' | 'riemann-middle' | 'riemann-trapezoid';
export const INTEGRATIONS: readonly Integration[] = ['gauss-legendre', 'riemann-left', 'riemann-right', 'riemann-middle', 'riemann-trapezoid'];

export const MAX_STEPS = 10_000;

export interface Quadrature {
  alphas: number[];
  weights: number[];
}

export function quadrature(method: Integration, n: number): Quadrature {
  if (!Number.isInteger(n) || n < 1) fail('BAD_OPTION', `steps must be a positive integer, got ${n}`);
  // Finding n Gauss-Legendre nodes costs n^2 (0.75 s at 10,000, measured); past a few hundred points no rule gains.
  if (n > MAX_STEPS) fail('BAD_OPTION', `steps must be at most ${MAX_STEPS}, got ${n}`);
  const range = (f: (i: number) => number) => Array.from({ length: n }, (_, i) => f(i));
  switch (method) {
    case 'riemann-left':
      return { alphas: range((i) => i / n), weights: range(() => 1 / n) };
    case 'riemann-right':
      return { alphas: range((i) => (i + 1) / n), weights: range(() => 1 / n) };
    case 'riemann-middle':
      return { alphas: range((i) => (i + 0.5) / n), weights: range(() => 1 / n) };
    case 'riemann-trapezoid':
      // Captum asserts n > 1 here (its linspace would divide by n - 1 = 0).
      if (n < 2) fail('BAD_OPTION', 'riemann-trapezoid needs at least 2 steps');
      return { alphas: range((i) => i / (n - 1)), weights: range((i) => (i === 0 || i === n - 1 ? 0.5 / n : 1 / n)) };
    case 'gauss-legendre': {
      const { nodes, weights } = gaussLegendre(n);
      return { alphas: nodes.map((t) => (1 + t) / 2), weights: weights.map((w) => w / 2) };
    }
    default:
      return fail('BAD_OPTION', `unknown integration "${String(method)}"; known: ${INTEGRATIONS.join(', ')}`);
  }
}

/**
 * Nodes (ascending, as numpy's leggauss) and weights of the n-point Gauss-Legendre rule on [-1, 1]:
 * the roots of the Legendre polynomial P_n by Newton's method from Tricomi's estimate, and
 * w = 2 / ((1 - t^2) P_n'(t)^2). Newton converges to machine precision in a few steps.
 */
export function gaussLegendre(n: number): { nodes: number[]; weights: number[] } {
  const nodes = new Array<number>(n);
  const weights = new Array<number>(n);
  for (let i = 0; i < Math.ceil(n / 2); i++) {
    let t = Math.cos((Math.PI * (i + 0.75)) / (n + 0.5));
    let dp = 0;
    for (let iter = 0; iter < 100; iter++) {
      // P_n(t) and P_n'(t) by the three-term recurrence.
      let p0 = 1;
      let p1 = t;
      for (let k = 2; k <= n; k++) {
        const p2 = ((2 * k - 1) * t * p1 - (k - 1) * p0) / k;
        p0 = p1;
        p1 = p2;
      }
      const p = n === 1 ? t : p1;
      const pPrev = n === 1 ? 1 : p0;
      dp = (n * (t * p - pPrev)) / (t * t - 1);
      const dt = p / dp;
      t -= dt;
      if (Math.abs(dt) < 1e-16) break;
    }
    const w = 2 / ((1 - t * t) * dp * dp);
    nodes[i] = -t;
    nodes[n - 1 - i] = t;
    weights[i] = w;
    weights[n - 1 - i] = w;
  }
  return { nodes, weights };
}
