/**
 * Gradient: R_in = (d out / d in)^T R_out, the layer's plain backward pass. Applied to every layer with
 * a one-hot start it yields d logit / d input; times the input, gradient x input.
 */
import type { GradientRule } from './types.js';

export function gradientRule(): GradientRule {
  return { kind: 'gradient', name: 'gradient', label: 'gradient' };
}
