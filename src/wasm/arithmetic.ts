/**
 * The rules' arithmetic (rules/types.ts Arithmetic) on wasm buffers: products, sums and quotients stay
 * deferred for the lowering (lowering.ts) to fuse into the passes that read them; the rest runs at once.
 */
import type { Buf } from '../ops/index.js';
import type { Arithmetic } from '../rules/types.js';
import { BINARY, UNARY } from './codes.js';
import type { Convolutions, Lowering } from './lowering.js';

/** Elementwise arithmetic on wasm buffers; every result is a fresh buffer from the node's scratch. */
export function wasmArithmetic(c: Convolutions, lowering: Lowering): Arithmetic<Buf> {
  const { k, arena } = c;
  const fresh = (n: number) => c.buffer(n, 'a rule step');
  const unary = (op: number, a: Buf, kk = 0) => {
    const out = fresh(a.n);
    k.unary(op, a.ptr, out.ptr, a.n, kk);
    return out;
  };
  const binary = (op: number, a: Buf, b: Buf) => {
    const out = fresh(a.n);
    c.elementwise('binary', [op, a.ptr, b.ptr, out.ptr, a.n], a.n);
    return out;
  };
  return {
    pos: (a) => unary(UNARY.pos, a),
    neg: (a) => unary(UNARY.neg, a),
    ones: (like) => unary(UNARY.fill, like, 1),
    scale: (a, kk) => unary(UNARY.scale, a, kk),
    add: (a, b) => lowering.sum(a, b, () => fresh(a.n).ptr) ?? binary(BINARY.add, a, b),
    sub: (a, b) => binary(BINARY.sub, a, b),
    mul: (a, b) => lowering.product(fresh(a.n).ptr, a, b),
    divStab: (R, z, eps) => lowering.quotient(fresh(R.n).ptr, R, z, eps),
    onlyWherePositive: (R, z) => k.only_where_positive(R.ptr, z.ptr, R.n) !== 0,
    gammaQuotients: (R, z, q, g, eps) => {
      const [a, d] = [fresh(R.n), fresh(R.n)];
      k.gamma_quotients(R.ptr, z.ptr, q.ptr, a.ptr, d.ptr, R.n, g, eps);
      return [a, d];
    },
    fromHost: (values) => {
      const out = fresh(values.length);
      arena.f32(out.ptr, out.n).set(values);
      return out;
    },
    toHost: (a) => Float64Array.from(arena.f32(a.ptr, a.n)),
    isNonNegative: (a) => k.min_value(a.ptr, a.n) >= 0,
  };
}
