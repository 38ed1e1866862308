import { RelpropError } from '../errors.js';
import { wasmBase64, wasmRelaxedBase64 } from './module.generated.js';

type Ptr = number;

/** The raw exports of relprop's kernels (`--bindings raw`): numbers and byte offsets only. */
export interface KernelExports {
  memory: WebAssembly.Memory;
  heap_base(): Ptr;
  conv2d_forward(geom: Ptr, x: Ptr, weight: Ptr, bias: Ptr, y: Ptr, scratch: Ptr, u: Ptr, uReady: number): void;
  winograd_weights(weight: Ptr, cin: number, cout: number, u: Ptr): void;
  winograd_weights_size(cin: number, cout: number): number;
  conv2d_transpose(geom: Ptr, dy: Ptr, weight: Ptr, dx: Ptr, scratch: Ptr, u: Ptr, uReady: number): void;
  conv2d_scratch(geom: Ptr): number;
  conv2d_uses_winograd(geom: Ptr, transposed: number): number;
  conv2d_keeps_winograd(geom: Ptr): number;
  conv2d_fuses(geom: Ptr, transposed: number): number;
  split_sum(R: Ptr, z: Ptr, eps: number, a1: Ptr, out1: Ptr, acc1: number, a2: Ptr, out2: Ptr, acc2: number, n: number): void;
  linear_forward(x: Ptr, weight: Ptr, bias: Ptr, y: Ptr, batch: number, nin: number, nout: number, tW: number, gW: number, tB: number, gB: number, relu: number): void;
  linear_transpose(s: Ptr, weight: Ptr, dx: Ptr, batch: number, nin: number, nout: number, tW: number, gW: number): void;
  maxpool_forward(x: Ptr, y: Ptr, winners: Ptr, planes: number, h: number, w: number, ho: number, wo: number, kh: number, kw: number, sh: number, sw: number, pt: number, pl: number): void;
  maxpool_route(dy: Ptr, winners: Ptr, dx: Ptr, nOut: number, nIn: number): void;
  avgpool(src: Ptr, dst: Ptr, transpose: number, planes: number, h: number, w: number, ho: number, wo: number, kh: number, kw: number, sh: number, sw: number, pt: number, pl: number, pb: number, pr: number, countIncludePad: number): void;
  gap_forward(x: Ptr, y: Ptr, planes: number, hw: number): void;
  gap_transpose(dy: Ptr, dx: Ptr, planes: number, hw: number): void;
  copy(a: Ptr, out: Ptr, n: number): void;
  binary(op: number, a: Ptr, b: Ptr, out: Ptr, n: number): void;
  unary(op: number, a: Ptr, out: Ptr, n: number, k: number): void;
  div_stab(R: Ptr, z: Ptr, out: Ptr, n: number, eps: number): void;
  where_sign(R: Ptr, z: Ptr, out: Ptr, n: number, sign: number): void;
  relu(a: Ptr, out: Ptr, n: number): void;
  relu_mask(a: Ptr, mask: Ptr, out: Ptr, n: number): void;
  channel_affine(a: Ptr, scale: Ptr, shift: Ptr, out: Ptr, n: number, plane: number, channels: number): void;
  pad_crop(src: Ptr, dst: Ptr, crop: number, planes: number, h: number, w: number, pt: number, pl: number, pb: number, pr: number): void;
  sum(a: Ptr, n: number): number;
  min_value(a: Ptr, n: number): number;
}

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
