import { fail } from '../errors.js';
import type { NodeBase, Shape } from '../graph/node.js';
import type { Vec } from '../rules/types.js';
import { defineOp, where } from './op.js';

/**
 * The product of two values, a [..., m, k] and b [..., k, n], over their shared leading axes (a
 * transformer's Q K^T and A V, one product a head).
 */
export interface MatMulNode extends NodeBase {
  op: 'MatMul';
}

type Dims = { batches: number; m: number; k: number; n: number };

function dims(a: Shape, b: Shape, samples: number): Dims {
  return { batches: samples * a.slice(0, -2).reduce((p, q) => p * q, 1), m: a[a.length - 2], k: a[a.length - 1], n: b[b.length - 1] };
}

function product(a: ArrayLike<number>, b: ArrayLike<number>, { batches, m, k, n }: Dims, out: Float32Array | Float64Array): void {
  for (let t = 0; t < batches; t++) {
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) s += a[(t * m + i) * k + p] * b[(t * k + p) * n + j];
        out[(t * m + i) * n + j] = s;
      }
    }
  }
}

/** d/da = g b^T, d/db = a^T g. */
function gradients(a: ArrayLike<number>, b: ArrayLike<number>, g: ArrayLike<number>, { batches, m, k, n }: Dims, da: Float32Array | Float64Array, db: Float32Array | Float64Array): void {
  da.fill(0);
  db.fill(0);
  for (let t = 0; t < batches; t++) {
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        const gij = g[(t * m + i) * n + j];
        for (let p = 0; p < k; p++) {
          da[(t * m + i) * k + p] += gij * b[(t * k + p) * n + j];
          db[(t * k + p) * n + j] += a[(t * m + i) * k + p] * gij;
        }
      }
    }
  }
}


/** Bilinear in its two inputs: LRP by the transformer composites' rules (uniform epsilon, or one factor held); elsewhere the gradient. */
export const matMulOp = defineOp<MatMulNode>({
  type: 'MatMul',
  arity: 'many',
  role: 'gradient',
  accepts: ['jacobian'],
  shape(node, ins) {
    const [a, b] = ins;
    const lead = (s: Shape) => s.slice(0, -2).join(',');
    if (ins.length !== 2 || a.length < 2 || b.length !== a.length || lead(a) !== lead(b) || a[a.length - 1] !== b[b.length - 2]) {
      fail('BAD_GRAPH', `${where(node)} multiplies [${a}] by [${b}]; it needs two values [..., m, k] and [..., k, n] with the same leading axes`);
    }
    return [...a.slice(0, -1), b[b.length - 1]];
  },
  reference: {
    forward(node, [a, b], c) {
      const out: Vec = new Float64Array(c.batch * c.graph.shape(node.name).reduce((p, q) => p * q, 1));
      product(a, b, dims(c.graph.shape(node.inputs[0]), c.graph.shape(node.inputs[1]), c.batch), out);
      return out;
    },
    gradient(node, R, c) {
      const [a, b] = node.inputs.map((i) => c.value(i));
      const [da, db]: Vec[] = [new Float64Array(a.length), new Float64Array(b.length)];
      gradients(a, b, R, dims(c.graph.shape(node.inputs[0]), c.graph.shape(node.inputs[1]), c.batch), da, db);
      return [da, db];
    },
  },
  // On the engine's GEMM kernels, a product (a head) at a time: the gradients are products too,
  // d/da = g b^T and d/db = a^T g.
  wasm: {
    forward(node, [a, b], c) {
      const out = c.output(node);
      const { batches, m, k, n } = dims(c.graph.shape(node.inputs[0]), c.graph.shape(node.inputs[1]), c.batch);
      c.products(a.ptr, b.ptr, out.ptr, batches, m, k, n);
      return out;
    },
    gradient(node, R, c) {
      const [da, db] = node.inputs.map((i) => c.sized(i, `the gradient of "${node.name}" at "${i}"`));
      const [a, b] = node.inputs.map((i) => c.value(i));
      const { batches, m, k, n } = dims(c.graph.shape(node.inputs[0]), c.graph.shape(node.inputs[1]), c.batch);
      // da[t] = g[t] b[t]^T: g is m x n, b[t]^T is n x k, which b holds transposed.
      c.products(R.ptr, b.ptr, da.ptr, batches, m, n, k, false, true);
      // db[t] = a[t]^T g[t]: a[t]^T is k x m, which a holds transposed.
      c.products(a.ptr, R.ptr, db.ptr, batches, k, m, n, true, false);
      return [da, db];
    },
  },
});
