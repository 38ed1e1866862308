/**
 * gradient-x-input: x * d logit_target / d x, as Captum's InputXGradient. Equal to LRP-0 from the
 * logit on piecewise-linear nets with zero biases.
 */
import type { MethodDefinition } from '../types.js';

export const gradientXInput: MethodDefinition = {
  name: 'gradient-x-input',
  description: 'input x gradient (Captum InputXGradient)',
  params: [],
  resolve: () => ({
    method: 'gradient-x-input',
    settings: {},
    shading: 'signed',
    findsTargets: true,
    run: async (passes, x, batch, targets) => {
      const { gradient, ...outputs } = await passes.gradient(x, batch, targets);
      return { attribution: gradient.map((g, i) => g * x[i]), outputs };
    },
  }),
};
