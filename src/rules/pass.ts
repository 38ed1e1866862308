/**
 * Pass: R_in = R_out. For ReLU (the next layer's rule already accounts for the activation), reshapes, and
 * BatchNorm when it is not folded (InterpretDL's scheme).
 */
import type { PassRule } from './types.js';

export function passRule(): PassRule {
  return { kind: 'pass', name: 'pass', label: 'pass' };
}
