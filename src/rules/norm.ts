/**
 * Norm, for residual sums and average pools (parameter-free linear maps z = sum_j a_jk x_j): each input
 * gets the share of the output that it contributed,
 *
 *   R_j = sum_k  x_j a_jk / stab(z_k) * R_k
 *
 * For Add (a = 1) the split R_i = x_i / stab(x_1 + x_2) * R sums to its parent. With stabilizer 0 the
 * division is exact and a zero sum passes nothing (InterpretDL's "no epsilon" split).
 */
import { DEFAULT_STABILIZER } from './stabilizer.js';
import type { LinearMap, NormRule } from './types.js';

export function normRule({ stabilizer = DEFAULT_STABILIZER } = {}): NormRule {
  return {
    kind: 'norm',
    name: 'norm',
    label: stabilizer === 0 ? 'norm(no epsilon)' : 'norm',
    relevance<T>(map: LinearMap<T>, R: T): T[] {
      const { math } = map;
      const s = math.divStab(R, map.z, stabilizer);
      return map.transpose(s).map((c, i) => math.mul(map.inputs[i], c));
    },
  };
}
