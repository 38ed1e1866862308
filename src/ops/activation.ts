/**
 * What the activations besides ReLU share: elementwise, shape-preserving, and passing relevance through
 * unchanged (as Zennit does for every activation); their gradient is f'(x) times the incoming one. Each
 * op module gives its function and derivative (float64, for the reference) and its kernel code
 * (assembly/activation.ts, the same definitions in float32).
 */
import type { NodeBase } from '../graph/node.js';
import type { Vec } from '../rules/types.js';
import { ACTIVATION } from '../wasm/codes.js';
import { defineOp, type AnyNode, type OpDefinition } from './op.js';

export interface Activation<N> {
  type: string;
  /** The kernel's code and its two parameters for this node. */
  code: keyof typeof ACTIVATION;
  params(node: N): [number, number];
  f(x: number, p: number, q: number): number;
  /** f'(x), with the side of each kink PyTorch takes. */
  df(x: number, p: number, q: number): number;
  /** Whether the output is never negative (for the rules that need non-negative inputs). */
  nonNegative(node: N): boolean;
  /** Validates the node's parameters (throws naming the node). */
  check?(node: N): void;
  /** Where the op is a ReLU clamped from above (ReLU6), the top a convolution before it applies it at (see OpDefinition.convEpilogue). */
  convEpilogue?(node: N): number | null;
}

export function activationOp<N extends NodeBase & AnyNode>(a: Activation<N>): OpDefinition<N> {
  const map = (x: Vec, node: N) => {
    const [p, q] = a.params(node);
    return x.map((v) => a.f(v, p, q));
  };
  return defineOp<N>({
    type: a.type as N['op'],
    arity: 1,
    role: 'pass',
    locality: 'elementwise',
    accepts: ['pass'],
    convEpilogue: a.convEpilogue,
    sign: (node) => (a.nonNegative(node) ? 'always' : undefined),
    shape(node, [s]) {
      a.check?.(node);
      return s;
    },
    reference: {
      forward: (node, [x]) => map(x, node),
      gradient(node, R, c) {
        const [p, q] = a.params(node);
        const x = c.value(node.inputs[0]);
        return [R.map((r, i) => r * a.df(x[i], p, q))];
      },
    },
    wasm: {
      forward(node, [x], c) {
        const out = c.output(node);
        c.elementwise('activation', [ACTIVATION[a.code], x.ptr, out.ptr, out.n, ...a.params(node)], out.n);
        return out;
      },
      gradient(node, R, c) {
        const dx = c.inputSized(node, `the gradient at "${node.name}"`);
        c.k.activation_gradient(ACTIVATION[a.code], c.value(node.inputs[0]).ptr, R.ptr, dx.ptr, dx.n, ...a.params(node));
        return [dx];
      },
    },
  });
}

export const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
