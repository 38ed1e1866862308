/** A number given as a command-line flag, checked once: its form and range, named in the error. */
import { fail } from '../errors.js';

export function numberFlag(v: string, what: string, lo: number, hi: number, integer = false): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < lo || n > hi || (integer && !Number.isInteger(n))) {
    fail('BAD_OPTION', `${what} must be ${integer ? 'a whole number' : 'a number'} from ${lo} to ${hi}, got "${v}"`);
  }
  return n;
}
