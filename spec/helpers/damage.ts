/**
 * The damage the fuzzing specs do to a file: cut at a byte, one bit flipped, or a 32-bit little-endian
 * field overwritten with a huge value (0xffffff00 + k), as a size or offset declared far beyond the file.
 */
import fc from 'fast-check';
import { RelpropError } from '../../src/errors.js';

export type Damage = 'truncated' | 'bit-flipped' | 'size-inflated';
export const DAMAGES: readonly Damage[] = ['truncated', 'bit-flipped', 'size-inflated'];

export function damage(bytes: Uint8Array, kind: Damage, at: number, bit: number): Uint8Array {
  if (kind === 'truncated') return bytes.subarray(0, at);
  const out = bytes.slice();
  if (kind === 'bit-flipped') out[at] ^= 1 << bit;
  else new DataView(out.buffer).setUint32(Math.min(at - (at % 4), out.length - 4), 0xffffff00 + bit, true);
  return out;
}

/** `runs` damaged copies of `bytes` each either load or end in a RelpropError: never another exception. */
export async function damagedFilesEndCleanly(bytes: Uint8Array, kind: Damage, load: (damaged: Uint8Array) => unknown, runs = 300): Promise<void> {
  await fc.assert(
    fc.asyncProperty(fc.nat(bytes.length - 1), fc.nat(7), async (at, bit) => {
      try {
        await load(damage(bytes, kind, at, bit));
      } catch (e) {
        if (!(e instanceof RelpropError)) throw e;
      }
    }),
    { numRuns: runs },
  );
}
