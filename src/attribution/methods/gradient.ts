/** gradient: d logit_target / d x, as Captum's Saliency with abs=False (Captum takes |.| by default). */
import type { MethodDefinition } from '../types.js';

export const gradient: MethodDefinition = {
  name: 'gradient',
  description: 'd logit_target / d input (Captum Saliency with abs=False)',
  params: [],
  resolve: () => ({
    method: 'gradient',
    settings: {},
    shading: 'signed',
    findsTargets: true,
    run: async (passes, x, batch, targets) => {
      const { gradient, ...outputs } = await passes.gradient(x, batch, targets);
      return { attribution: gradient, outputs };
    },
  }),
};
