import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';

/** A seeded source of random numbers, so a built model is the same on every machine and run. */
export class Random {
  private readonly rng;
  constructor(seed: number) {
    this.rng = xoroshiro128plus(seed | 0);
  }
  uniform(lo = 0, hi = 1): number {
    return lo + (hi - lo) * uniformFloat64(this.rng);
  }
  /** Standard normal by Box-Muller. */
  normal(mean = 0, std = 1): number {
    const u = 1 - uniformFloat64(this.rng);
    const v = uniformFloat64(this.rng);
    return mean + std * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
  /** n normals, both Box-Muller outputs used (large layers draw hundreds of millions). */
  normals(n: number, std: number): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i += 2) {
      const r = std * Math.sqrt(-2 * Math.log(1 - uniformFloat64(this.rng)));
      const t = 2 * Math.PI * uniformFloat64(this.rng);
      out[i] = r * Math.cos(t);
      if (i + 1 < n) out[i + 1] = r * Math.sin(t);
    }
    return out;
  }
  uniforms(n: number, lo: number, hi: number): Float32Array {
    return Float32Array.from({ length: n }, () => this.uniform(lo, hi));
  }
}
