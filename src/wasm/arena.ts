import { fail } from '../errors.js';
import type { KernelExports } from './load.js';

const PAGE = 65536;
/** wasm32 addresses 4 GiB; the engine never asks for more, whatever the limit says. */
export const WASM32_MAX = 4 * 1024 ** 3 - PAGE;
export const DEFAULT_MEMORY_LIMIT = 3 * 1024 ** 3;

const mib = (bytes: number) => `${(bytes / 1024 ** 2).toFixed(1)} MiB`;

/**
 * One arena in wasm memory: a bump allocator above the module's static data, with marks to release
 * everything allocated after a point. Memory grows on demand, never past the limit: asking for more
 * is a clear error, not a trap or a wrapped address.
 */
export class Arena {
  private top: number;
  readonly base: number;
  private highWater: number;

  constructor(
    readonly kernels: KernelExports,
    public limit: number,
  ) {
    this.base = align(kernels.heap_base());
    this.top = this.base;
    this.highWater = this.base;
  }

  alloc(bytes: number, what: string): number {
    const p = align(this.top);
    this.ensure(p + bytes, what);
    this.top = p + bytes;
    this.highWater = Math.max(this.highWater, this.top);
    return p;
  }

  /** Makes sure memory reaches `end`, or fails naming what needed it. */
  ensure(end: number, what: string): void {
    const cap = Math.min(this.limit, WASM32_MAX);
    if (end > cap) {
      fail('MEMORY_LIMIT', `${what} needs wasm memory up to ${mib(end)}, over the limit of ${mib(cap)}${cap < WASM32_MAX ? ' (raise it with the memoryLimit option, or use a smaller batch)' : ' (the 4 GiB of wasm32; use a smaller batch or input)'}`);
    }
    const memory = this.kernels.memory;
    if (end > memory.buffer.byteLength) memory.grow(Math.ceil((end - memory.buffer.byteLength) / PAGE));
  }

  mark(): number {
    return this.top;
  }

  reset(mark: number): void {
    this.top = mark;
  }

  /** Bytes in use at the peak so far, above the static data. */
  get peak(): number {
    return this.highWater - this.base;
  }

  f32(ptr: number, n: number): Float32Array {
    return new Float32Array(this.kernels.memory.buffer, ptr, n);
  }

  f64(ptr: number, n: number): Float64Array {
    return new Float64Array(this.kernels.memory.buffer, ptr, n);
  }

  i32(ptr: number, n: number): Int32Array {
    return new Int32Array(this.kernels.memory.buffer, ptr, n);
  }
}

export function align(p: number): number {
  // Not a bit mask: offsets reach past 2^31, beyond 32-bit integer arithmetic.
  return Math.ceil(p / 16) * 16;
}
