/**
 * What the transformer rules share (types.ts JacobianRule): each input x_j gets
 *
 *   R_j = x_j (J_j^T (R / stab(n z)))_j
 *
 * J the op's Jacobian at the forward's point (or with what the rule holds constant held), n the number
 * of factors the output's quotient is shared among. For a map linear in its inputs this is the epsilon
 * rule (its bias or constant absorbing the rest); for LXT's nonlinear ops it is their rules, as its
 * efficient form computes them (gradient x input with the gradient of R / z).
 */
import type { JacobianRule, LinearMap } from './types.js';

export function jacobianRule(o: { name: string; label: string; stabilizer: number; share?: number; held?: boolean; to?: 'all' | 'last' }): JacobianRule {
  const { share = 1, held = false, to = 'all' } = o;
  return {
    kind: 'jacobian',
    name: o.name,
    label: o.label,
    held,
    to,
    relevance<T>(map: LinearMap<T>, R: T): T[] {
      const { math } = map;
      const s = math.divStab(R, share === 1 ? map.z : math.scale(map.z, share), o.stabilizer);
      const shares = map.transpose(s).map((c, i) => math.mul(map.inputs[i], c));
      return to === 'last' ? shares.slice(-1) : shares;
    },
  };
}
