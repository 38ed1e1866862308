import { RelpropError } from '../errors.js';
import { wasmBase64 } from './module.generated.js';

/** The raw exports of relprop's kernels (compiled with `--bindings raw`): numbers and byte offsets only. */
export interface KernelExports {
  memory: WebAssembly.Memory;
  dot(a: number, b: number, n: number): number;
  memoryPages(): number;
}

let compiled: Promise<WebAssembly.Module> | null = null;

function decodeBase64(b64: string): Uint8Array {
  // atob exists in Node >= 16, Deno, Bun and browsers: no Buffer, no file system.
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return bytes;
}

/** Compiles the embedded module once per process and instantiates a fresh instance (own memory). */
export async function instantiateKernels(): Promise<KernelExports> {
  compiled ??= WebAssembly.compile(decodeBase64(wasmBase64) as BufferSource);
  const instance = await WebAssembly.instantiate(await compiled, {
    env: {
      abort(_msg: number, _file: number, line: number, column: number) {
        throw new RelpropError('UNSUPPORTED', `wasm kernel aborted at line ${line}:${column}`);
      },
    },
  });
  return instance.exports as unknown as KernelExports;
}
