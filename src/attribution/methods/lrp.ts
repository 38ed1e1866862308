/** lrp: Layer-wise Relevance Propagation with a composite, the same as model.explain (one-hot start 1.0). */
import { defaultCompositeFor, resolveComposite, type CompositeSpec } from '../../composites.js';
import type { MethodDefinition } from '../types.js';

export const lrp: MethodDefinition = {
  name: 'lrp',
  description: 'Layer-wise Relevance Propagation with a composite (as explain)',
  params: ['composite'],
  resolve: (options, context) => {
    const spec = (options.composite ?? defaultCompositeFor(context.graph)) as CompositeSpec;
    const composite = resolveComposite(spec);
    return {
      method: 'lrp',
      settings: { composite: spec },
      shading: 'signed',
      findsTargets: true,
      run: async (passes, x, batch, targets) => {
        const { relevance, ...outputs } = await passes.lrp(x, batch, targets, composite);
        return { attribution: relevance, outputs };
      },
    };
  },
};
