import { RelpropError } from '../errors.js';
import { wasmBase64, wasmRelaxedBase64, wasmRelaxedThreadsBase64, wasmThreadsBase64 } from './module.generated.js';

import type { KernelExports } from './kernels.generated.js';

export type { KernelExports };

/**
 * The two builds of the kernels: 'relaxed-simd' (the GEMM's multiply-adds fused where the machine has
 * FMA; Chrome 114+, Node 22+, or Node 20 with --experimental-wasm-relaxed-simd) and 'simd', for the rest.
 */
export type KernelBuild = 'relaxed-simd' | 'simd';

const compiled = new Map<string, Promise<WebAssembly.Module>>();
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

/** The compiled module of a build, single-threaded or over an imported shared memory (`threaded`); once per process. */
export function compiledKernels(build: KernelBuild, threaded: boolean): Promise<WebAssembly.Module> {
  if (build === 'relaxed-simd' && !relaxedSimdSupported()) {
    throw new RelpropError('UNSUPPORTED', 'this runtime has no relaxed SIMD for the "relaxed-simd" kernels (Node 20 needs --experimental-wasm-relaxed-simd); use "simd"');
  }
  const key = `${build}${threaded ? ' threaded' : ''}`;
  let module = compiled.get(key);
  if (!module) {
    const b64 = threaded ? (build === 'relaxed-simd' ? wasmRelaxedThreadsBase64 : wasmThreadsBase64) : build === 'relaxed-simd' ? wasmRelaxedBase64 : wasmBase64;
    module = WebAssembly.compile((build === 'relaxed-simd' && !threaded ? relaxedBytes! : decodeBase64(b64)) as BufferSource);
    compiled.set(key, module);
  }
  return module;
}

/** What a kernel's abort reports (the kernels are built with noAssert: an unreachable() is a trap instead). */
export const kernelImports = (memory?: WebAssembly.Memory) => ({
  env: {
    ...(memory ? { memory } : {}),
    abort(_msg: number, _file: number, line: number, column: number) {
      throw new RelpropError('UNSUPPORTED', `wasm kernel aborted at line ${line}:${column}`);
    },
  },
});

/**
 * A fresh instance of an embedded build: with its own memory, or over `memory` (shared, for threads:
 * the threaded build, whose instances on the main thread and the workers all compute in it).
 */
export async function instantiateKernels(build: KernelBuild = defaultKernelBuild(), memory?: WebAssembly.Memory): Promise<KernelExports> {
  const instance = await WebAssembly.instantiate(await compiledKernels(build, !!memory), kernelImports(memory));
  const exports = instance.exports as unknown as KernelExports;
  // An imported memory is not re-exported under the raw bindings' name unless asked: keep one shape.
  return memory ? ({ ...exports, memory } as KernelExports) : exports;
}
