/**
 * Rules' arithmetic on wasm buffers, and its lowering. A rule's steps that a convolution or a relevance
 * slot can do within its own pass over memory (a product, a quotient, a rule's own convolution or its
 * transpose) are left as deferred values; what consumes one decides, here and only here, how it runs:
 *   - R / stab(z) with z a rule's convolution not yet run: the convolution runs with the divide as its
 *     epilogue (EPILOGUE.div), where the kernels say it can; with z the sum of two (x+ w+ + x- w-),
 *     the first runs plainly and the second adds itself and divides (EPILOGUE.divsum);
 *   - a * t(W)^T s with the transpose not yet run: the transposed convolution runs with the product
 *     (EPILOGUE.mul, or EPILOGUE.mac when adding to a slot) as its epilogue;
 *   - a product stored into a relevance slot is computed there, or added there (BINARY.mac), and so
 *     is a sum of two products (x+ c+ + x- c-), the second added onto the first;
 *   - Norm's split of a two-input sum, x1 * q and x2 * q with q = R / stab(z), is one split_sum pass,
 *     which adds z = x1 + x2 itself where the sum was not kept (its ReLU written in its place).
 * Everything else is computed when first read (Deferred.ptr), into the space reserved for it.
 */
import type { AffineNode } from '../graph/nodes.js';
import type { Buf } from '../ops/index.js';
import type { Transform } from '../rules/types.js';
import { BINARY, EPILOGUE } from './codes.js';
import type { Arena } from './arena.js';
import type { KernelExports } from './load.js';
import type { Elementwise } from './elementwise-run.js';

/** A rule's next step, done by a convolution on its output values (assembly/epilogue.ts). */
export interface Epilogue {
  mode: (typeof EPILOGUE)[keyof typeof EPILOGUE];
  /** Address of the operand, laid out as the output. */
  operand: number;
  eps: number;
}
export const NO_EPILOGUE: Epilogue = { mode: EPILOGUE.none, operand: 0, eps: 0 };

/** What lowering needs of a session: its kernels, its scratch, its convolutions with epilogues and its passes over activations. */
export interface Convolutions {
  readonly k: KernelExports;
  readonly arena: Arena;
  readonly elementwise: Elementwise;
  buffer(n: number, what: string): Buf;
  /** out = t(W) x + t'(b), through the epilogue. */
  affine(node: AffineNode, x: Buf, out: Buf, w: Transform, b: Transform | null, relu: number | null, epilogue: Epilogue): void;
  /** out = t(W)^T s, through the epilogue. */
  affineTranspose(node: AffineNode, s: Buf, out: Buf, w: Transform, epilogue: Epilogue): void;
  /** Whether the node's convolution (forward, or `transposed`) with this transform applies epilogues. */
  fuses(node: AffineNode, w: Transform, transposed: boolean): boolean;
}

/** A buffer whose value is computed when first read, its space reserved already. */
abstract class Deferred implements Buf {
  computed = false;
  constructor(
    private readonly at: number,
    readonly n: number,
  ) {}

  get ptr(): number {
    if (!this.computed) {
      this.compute(this.at);
      this.computed = true;
    }
    return this.at;
  }

  /** Not yet computed: a consumer may still do the computation in its own pass. */
  get pending(): boolean {
    return !this.computed;
  }

  protected abstract compute(out: number): void;
}

/** a * b: rules end with x times a transposed pass, which the traversal adds to a relevance slot. */
class Product extends Deferred {
  constructor(private readonly lowering: Lowering, at: number, readonly a: Buf, readonly b: Buf) {
    super(at, a.n);
  }

  protected compute(out: number): void {
    this.lowering.multiply(this.a, this.b, { ptr: out, n: this.n }, false);
  }
}

/** A sum of products (a rule's x+ c+ + x- c-, gamma's two such): each computed into the result in turn, the later ones added. */
class ProductSum extends Deferred {
  constructor(private readonly lowering: Lowering, at: number, readonly terms: Product[]) {
    super(at, terms[0].n);
  }

  intoSlot(out: Buf, accumulate: boolean): void {
    this.terms.forEach((t, i) => this.lowering.multiply(t.a, t.b, out, accumulate || i > 0));
  }

  protected compute(out: number): void {
    this.intoSlot({ ptr: out, n: this.n }, false);
  }
}

/** R / stab(z). */
class Quotient extends Deferred {
  constructor(private readonly lowering: Lowering, at: number, readonly R: Buf, readonly z: Buf, readonly eps: number) {
    super(at, R.n);
  }

  protected compute(out: number): void {
    this.lowering.divide(this.R, this.z, this.eps, out);
  }
}

/** A rule's t(W) x + t'(b). */
class Applied extends Deferred {
  constructor(private readonly c: Convolutions, at: number, n: number, readonly node: AffineNode, readonly x: Buf, readonly w: Transform, readonly b: Transform | null) {
    super(at, n);
  }

  computeInto(out: number, epilogue = NO_EPILOGUE): void {
    this.c.affine(this.node, this.x, { ptr: out, n: this.n }, this.w, this.b, null, epilogue);
  }

  protected compute(out: number): void {
    this.computeInto(out);
  }
}

/** A rule's t(W)^T s. */
class Transposed extends Deferred {
  constructor(private readonly c: Convolutions, at: number, n: number, readonly node: AffineNode, readonly s: Buf, readonly w: Transform) {
    super(at, n);
  }

  computeInto(out: number, epilogue = NO_EPILOGUE): void {
    this.c.affineTranspose(this.node, this.s, { ptr: out, n: this.n }, this.w, epilogue);
  }

  protected compute(out: number): void {
    this.computeInto(out);
  }
}

/** a + b of two pending rule convolutions of one layer's output (z = x+ w+ + x- w-): the second runs onto the first. */
class AppliedSum extends Deferred {
  constructor(private readonly c: Convolutions, at: number, readonly a: Applied, readonly b: Applied) {
    super(at, a.n);
  }

  /** The second convolution's epilogue over the first's values already in out: plain add, or a divide. */
  computeInto(out: number, epilogue: Epilogue): void {
    this.a.computeInto(out);
    this.b.computeInto(out, epilogue);
  }

  protected compute(out: number): void {
    if (this.c.fuses(this.b.node, this.b.w, false)) {
      this.computeInto(out, { mode: EPILOGUE.add, operand: 0, eps: 0 });
      return;
    }
    this.c.elementwise('binary', [BINARY.add, this.a.ptr, this.b.ptr, out, this.n], this.n);
  }
}

/** The sum of an op's inputs whose own value was not kept (a residual sum that wrote its ReLU in place), as its forward added them. */
class InputSum extends Deferred {
  constructor(private readonly c: Convolutions, at: number, readonly terms: readonly Buf[]) {
    super(at, terms[0].n);
  }

  protected compute(out: number): void {
    this.terms.slice(1).forEach((t, i) => this.c.elementwise('binary', [BINARY.add, i === 0 ? this.terms[0].ptr : out, t.ptr, out, this.n], this.n));
  }
}

/** Norm's split of a two-input sum, as split_sum reads it. */
export interface SumSplit {
  R: Buf;
  /** null: z is a1 + a2, summed in the pass. */
  z: Buf | null;
  eps: number;
  a1: Buf;
  a2: Buf;
  n: number;
}

export class Lowering {
  constructor(private readonly c: Convolutions) {}

  /** A rule's convolution t(W) x + t'(b) into the reserved space at `at`, run by what reads it. */
  applied(at: number, n: number, node: AffineNode, x: Buf, w: Transform, b: Transform | null): Buf {
    return new Applied(this.c, at, n, node, x, w, b);
  }

  /** A rule's transposed convolution t(W)^T s into the reserved space at `at`, run by what reads it. */
  transposed(at: number, n: number, node: AffineNode, s: Buf, w: Transform): Buf {
    return new Transposed(this.c, at, n, node, s, w);
  }

  product(at: number, a: Buf, b: Buf): Buf {
    return new Product(this, at, a, b);
  }

  /**
   * a + b, deferred, of pending products or sums of them (each computed onto the first where they land) or
   * two pending rule convolutions (the second onto the first, and a divide by the sum in the second's
   * epilogue); else null.
   */
  sum(a: Buf, b: Buf, reserve: () => number): Buf | null {
    const terms = (t: Buf): Product[] | null => (t instanceof Product && t.pending ? [t] : t instanceof ProductSum && t.pending ? t.terms : null);
    const [ta, tb] = [terms(a), terms(b)];
    if (ta && tb) return new ProductSum(this, reserve(), [...ta, ...tb]);
    if (a instanceof Applied && b instanceof Applied && a.pending && b.pending) return new AppliedSum(this.c, reserve(), a, b);
    return null;
  }

  /** The sum of `terms` into the reserved space at `at`, computed when read (Norm's split sums it in its own pass). */
  inputSum(at: number, terms: readonly Buf[]): Buf {
    return new InputSum(this.c, at, terms);
  }

  quotient(at: number, R: Buf, z: Buf, eps: number): Buf {
    return new Quotient(this, at, R, z, eps);
  }

  /** out = a * b, or out += a * b; a pending transposed factor runs with the product as its epilogue. */
  multiply(a: Buf, b: Buf, out: Buf, accumulate: boolean): void {
    const [t, other] = b instanceof Transposed ? [b, a] : [a, b];
    if (t instanceof Transposed && t.pending && this.c.fuses(t.node, t.w, true)) {
      t.computeInto(out.ptr, { mode: accumulate ? EPILOGUE.mac : EPILOGUE.mul, operand: other.ptr, eps: 0 });
      return;
    }
    this.c.elementwise('binary', [accumulate ? BINARY.mac : BINARY.mul, a.ptr, b.ptr, out.ptr, out.n], out.n);
  }

  /** out = R / stab(z); a pending rule convolution z runs with the divide as its epilogue. */
  divide(R: Buf, z: Buf, eps: number, out: number): void {
    if (z instanceof Applied && z.pending && this.c.fuses(z.node, z.w, false)) {
      z.computeInto(out, { mode: EPILOGUE.div, operand: R.ptr, eps });
      return;
    }
    if (z instanceof AppliedSum && z.pending && this.c.fuses(z.b.node, z.b.w, false)) {
      z.computeInto(out, { mode: EPILOGUE.divsum, operand: R.ptr, eps });
      return;
    }
    this.c.k.div_stab(R.ptr, z.ptr, out, R.n, eps);
  }

  /**
   * Stores a pending product or transpose into a relevance slot (or adds a product to it) within the
   * pass that computes it; false for anything else, which the session copies, adds or hands over.
   */
  store(r: Buf, slot: Buf, accumulate: boolean): boolean {
    if (r instanceof Product && r.pending) {
      this.multiply(r.a, r.b, slot, accumulate);
      return true;
    }
    if (r instanceof ProductSum && r.pending) {
      r.intoSlot(slot, accumulate);
      return true;
    }
    if (!accumulate && r instanceof Transposed && r.pending) {
      r.computeInto(slot.ptr);
      return true;
    }
    return false;
  }

  /** Two pending products of one pending quotient (Norm on a two-input sum), or null. */
  sumSplit([p, q]: readonly Buf[]): SumSplit | null {
    if (!(p instanceof Product && q instanceof Product) || !p.pending || !q.pending) return null;
    const s = p.b;
    if (!(s instanceof Quotient) || !s.pending || q.b !== s) return null;
    const { z } = s;
    const summed = z instanceof InputSum && z.pending && z.terms.length === 2 && z.terms[0] === p.a && z.terms[1] === q.a;
    return { R: s.R, z: summed ? null : z, eps: s.eps, a1: p.a, a2: q.a, n: s.n };
  }
}
