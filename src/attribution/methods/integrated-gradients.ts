/**
 * integrated-gradients, as Captum's IntegratedGradients:
 *   IG(x)_i = (x_i - x'_i) * sum_k w_k * d logit_target / d x_i at x' + alpha_k (x - x'),
 * with the points alpha_k and weights w_k of the chosen rule (../integration.ts; default Captum's
 * Gauss-Legendre with 50 steps) and the baseline x' (default 0). All steps x images run as one batch
 * of gradients, ordered step by step as Captum's expanded batch.
 */
import { INTEGRATIONS, quadrature, type Integration } from '../integration.js';
import { copiesFit, integer, oneOf } from '../params.js';
import type { MethodDefinition } from '../types.js';
import { baselineOf } from '../baseline.js';

export const integratedGradients: MethodDefinition = {
  name: 'integrated-gradients',
  description: 'integrated gradients from a baseline (Captum IntegratedGradients)',
  params: ['steps', 'baseline', 'integration'],
  resolve: (options, context) => {
    const steps = integer(options.steps, 'steps', 50);
    const integration = oneOf<Integration>(options.integration, 'integration', 'gauss-legendre', INTEGRATIONS);
    const per = context.inputShape.reduce((a, b) => a * b, 1);
    // Checked before the rule's points are made too (a billion of them would take minutes).
    copiesFit(8 * steps * per, `${steps} steps x 1 image`);
    const { alphas, weights } = quadrature(integration, steps);
    const baseline = baselineOf(options.baseline, context.inputShape);
    return {
      method: 'integrated-gradients',
      settings: { steps, integration, baseline: typeof options.baseline === 'number' || options.baseline === undefined ? (options.baseline ?? 0) : 'array' },
      shading: 'signed',
      findsTargets: false,
      run: async (passes, x, batch, targets) => {
        // The scaled inputs and their gradients, 4 bytes each.
        copiesFit(8 * steps * x.length, `${steps} steps x ${batch} image${batch > 1 ? 's' : ''}`);
        const base = baseline(batch);
        const scaled = new Float32Array(steps * x.length);
        alphas.forEach((a, k) => {
          for (let i = 0; i < x.length; i++) scaled[k * x.length + i] = base[i] + a * (x[i] - base[i]);
        });
        const expanded = alphas.flatMap(() => targets);
        const { gradient } = await passes.gradient(scaled, steps * batch, expanded);
        const total = new Float64Array(x.length);
        weights.forEach((w, k) => {
          for (let i = 0; i < x.length; i++) total[i] += w * gradient[k * x.length + i];
        });
        return { attribution: Float32Array.from(total, (t, i) => t * (x[i] - base[i])) };
      },
    };
  },
};
