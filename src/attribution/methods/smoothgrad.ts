/**
 * smoothgrad: the mean of an inner method's attributions over noisy copies of the input,
 *   SG(x) = 1/n sum_s A(x + eps_s),  eps_s ~ N(0, sigma^2 I),  sigma = noise * (max(x) - min(x)),
 * as Captum's NoiseTunnel(nt_type='smoothgrad') computes it, with sigma per image as a fraction of its
 * range as Zennit's SmoothGrad sets it (Captum takes an absolute stdevs; Zennit also makes its last
 * sample the clean input, which this does not). The inner method runs on the noisy copies, so an inner
 * gradient-x-input multiplies by the noisy input, as Captum's does. Seeded: a run repeats bit for bit.
 */
import { copiesFit, integer, finite, seed as seedOf } from '../params.js';
import { Random } from '../random.js';
import type { MethodDefinition, MethodResult, Passes, ResolvedMethod, Targets } from '../types.js';

export const smoothgrad: MethodDefinition = {
  name: 'smoothgrad',
  description: "mean of an inner method's maps over noisy copies (Captum NoiseTunnel smoothgrad)",
  params: ['samples', 'noise', 'inner', 'seed'],
  resolve: (options, context) => {
    const samples = integer(options.samples, 'samples', 50);
    const noise = finite(options.noise, 'noise', 0.1, (v) => v >= 0, ' >= 0');
    const seed = seedOf(options.seed);
    const inner = context.resolve(options.inner ?? 'gradient', 'smoothgrad inner');
    return {
      method: 'smoothgrad',
      settings: { samples, noise, seed, inner: { method: inner.method, ...inner.settings } },
      shading: inner.shading,
      findsTargets: false,
      run: async (passes, x, batch, targets) => {
        // The noisy copies and the inner method's maps, 4 bytes each.
        copiesFit(8 * samples * x.length, `${samples} samples x ${batch} image${batch > 1 ? 's' : ''}`);
        return smoothOver(inner, passes, noisyCopies(x, batch, samples, noise, seed), samples, batch, targets);
      },
    };
  },
};

/**
 * `samples` copies of the batch, sample-major (copy s of image b at (s * batch + b) * per), each element
 * plus sigma_b times a standard normal draw, drawn in that order from the seeded generator.
 */
export function noisyCopies(x: Float32Array, batch: number, samples: number, noise: number, seed: number): Float32Array {
  const per = x.length / batch;
  const random = new Random(seed);
  const sigma = Array.from({ length: batch }, (_, b) => {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = b * per; i < (b + 1) * per; i++) {
      lo = Math.min(lo, x[i]);
      hi = Math.max(hi, x[i]);
    }
    return noise * (hi - lo);
  });
  const noisy = new Float32Array(samples * x.length);
  for (let s = 0; s < samples; s++) {
    for (let b = 0; b < batch; b++) {
      const at = s * x.length + b * per;
      for (let i = 0; i < per; i++) noisy[at + i] = x[b * per + i] + sigma[b] * random.normal();
    }
  }
  return noisy;
}

/** The inner method's mean over given noisy copies (as noisyCopies lays them out): SmoothGrad once the noise is drawn. */
export async function smoothOver(inner: ResolvedMethod, passes: Passes, noisy: Float32Array, samples: number, batch: number, targets: Targets): Promise<MethodResult> {
  const expanded = Array.from({ length: samples }, () => targets).flat();
  const result = await inner.run(passes, noisy, samples * batch, expanded);
  const mean = (all: Float32Array) => {
    const one = all.length / samples;
    // Started from the first sample, not from +0, so that a map of -0s averages to -0s (bit for bit).
    const sum = Float64Array.from(all.subarray(0, one));
    for (let s = 1; s < samples; s++) for (let i = 0; i < one; i++) sum[i] += all[s * one + i];
    return Float32Array.from(sum, (v) => v / samples);
  };
  return { attribution: mean(result.attribution), ...(result.cam ? { cam: mean(result.cam), camShape: result.camShape } : {}) };
}
