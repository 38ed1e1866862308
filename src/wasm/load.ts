import { RelpropError } from '../errors.js';
import { wasmBase64, wasmRelaxedBase64 } from './module.generated.js';

import type { KernelExports } from './kernels.generated.js';

export type { KernelExports };

/**
 * The two builds of the kernels: 'relaxed-simd' (the GEMM's multiply-adds fused where the machine has
 * FMA; Chrome 114+, Node 22+, or Node 20 with --experimental-wasm-relaxed-simd) and 'simd', for the rest.
 */
export type KernelBuild = 'relaxed-simd' | 'simd';

const compiled = new Map<KernelBuild, Promise<WebAssembly.Module>>();
let relaxedBytes: Uint8Array | null = null;
let relaxedValid: boolean | null = null;

/** Whether this runtime runs the relaxed-SIMD build (the runtime validates it once). */
export function relaxedSimdSupported(): boolean {
  relaxedBytes ??= decodeBase64(wasmRelaxedBase64);
  relaxedValid ??= WebAssembly.validate(relaxedBytes as BufferSource);
  return relaxedValid;
}

/** The build `instantiateKernels` takes by default: the relaxed one where the runtime has it. */
export function defaultKernelBuild(): KernelBuild {
  return relaxedSimdSupported() ? 'relaxed-simd' : 'simd';
}

function decodeBase64(b64: string): Uint8Array {
  // atob exists in Node >= 16, Deno, Bun and browsers: no Buffer, no file system.
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return bytes;
}

/** Compiles an embedded build once per process and instantiates a fresh instance (own memory). */
export async function instantiateKernels(build: KernelBuild = defaultKernelBuild()): Promise<KernelExports> {
  if (build === 'relaxed-simd' && !relaxedSimdSupported()) {
    throw new RelpropError('UNSUPPORTED', 'this runtime has no relaxed SIMD for the "relaxed-simd" kernels (Node 20 needs --experimental-wasm-relaxed-simd); use "simd"');
  }
  let module = compiled.get(build);
  if (!module) {
    module = WebAssembly.compile((build === 'relaxed-simd' ? relaxedBytes! : decodeBase64(wasmBase64)) as BufferSource);
    compiled.set(build, module);
  }
  const instance = await WebAssembly.instantiate(await module, {
    env: {
      abort(_msg: number, _file: number, line: number, column: number) {
        throw new RelpropError('UNSUPPORTED', `wasm kernel aborted at line ${line}:${column}`);
      },
    },
  });
  return instance.exports as unknown as KernelExports;
}
