import { setFlagsFromString } from 'node:v8';

/**
 * Node 22+ validates relaxed SIMD by default; Node 20 only behind a V8 flag. The CLI (and the
 * benchmarks) turn it on for their own process, before any kernel compiles, so they run the kernels
 * with fused multiply-adds there too. The library never touches V8's flags: it takes what it is given.
 */
export function enableRelaxedSimd(): void {
  if (Number(process.versions.node.split('.')[0]) < 22) setFlagsFromString('--experimental-wasm-relaxed-simd');
}
