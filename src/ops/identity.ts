import type { NodeBase } from '../graph/node.js';
import { defineOp } from './op.js';

/** Dropout, Identity and the like from imported models; canonicalization removes them. */
export interface IdentityNode extends NodeBase {
  op: 'Identity';
}

/** Identity, Dropout and the like from imported models; canonicalization removes them. */
export const identityOp = defineOp<IdentityNode>({
  type: 'Identity',
  arity: 1,
  role: 'pass',
  locality: 'elementwise',
  accepts: ['pass'],
  sign: 'keeps',
  shape: (_node, [s]) => s,
  reference: { forward: (_node, [x]) => x, gradient: (_node, R) => [R] },
  wasm: { forward: (_node, [x]) => x, gradient: (_node, R) => [R] },
});
