import { describe, expect, it } from 'vitest';
import { instantiateKernels } from '../src/wasm/load.js';

describe('embedded wasm module', () => {
  it('loads from the embedded bytes and computes a SIMD dot product', async () => {
    const k = await instantiateKernels();
    const n = 1003; // not a multiple of 4: exercises the scalar tail
    const a = Float32Array.from({ length: n }, (_, i) => Math.sin(i));
    const b = Float32Array.from({ length: n }, (_, i) => Math.cos(i * 0.5));
    new Float32Array(k.memory.buffer, 0, n).set(a);
    new Float32Array(k.memory.buffer, 4 * n, n).set(b);
    let expected = 0;
    for (let i = 0; i < n; i++) expected += a[i] * b[i];
    // float32 accumulation in 4 lanes vs float64: n * 2^-24 * sum|a_i b_i| bounds the difference.
    const bound = n * 2 ** -24 * a.reduce((s, v, i) => s + Math.abs(v * b[i]), 0);
    expect(Math.abs(k.dot(0, 4 * n, n) - expected)).toBeLessThanOrEqual(bound);
    expect(k.memoryPages()).toBeGreaterThanOrEqual(1);
  });
});
