/**
 * Where the backward pass collects each value's relevance in wasm memory: one slot a value, planned
 * before the forward pass from the order the traversal visits nodes, so that values whose lives do not
 * overlap share one; and the hand-over that gives a ReLU's spent buffer to its input instead of copying.
 */
import { fail } from '../errors.js';
import { size, type Graph } from '../graph/graph.js';
import type { Buf } from '../ops/op.js';
import { BINARY } from './codes.js';
import type { KernelExports } from './load.js';
import type { Lowering } from './lowering.js';
import type { Elementwise } from './elementwise-run.js';

/** A relevance slot of the plan; the buffer in it changes when a ReLU hands its relevance over. */
interface Slot {
  buf: Buf;
}

export class RelevanceSlots {
  /** Each value's relevance slot; values whose lives do not overlap share one (the same object). */
  private readonly slots = new Map<string, Slot>();
  /** The slot that holds each planned buffer, by its address (hand-overs swap buffers between slots). */
  private readonly slotAt = new Map<number, Slot>();
  private readonly filled = new Set<string>();
  /** Whether this node's spent relevance buffer went to one of its inputs already. */
  private handedOver = false;

  /**
   * Plans a slot for every value the backward pass reaches, walking the nodes in the order the
   * traversal will: a slot is taken when relevance first arrives at a value and given back once its
   * node has passed it on, so slots of dead values are reused by later ones of the same size.
   */
  constructor(
    graph: Graph,
    batch: number,
    buffer: (n: number, what: string) => Buf,
    private readonly k: KernelExports,
    private readonly elementwise: Elementwise,
    private readonly lowering: Lowering,
  ) {
    const nodes = graph.upstream(graph.logitsName);
    const free = new Map<number, Slot[]>();
    const take = (name: string) => {
      if (this.slots.has(name)) return;
      const n = batch * size(graph.shape(name));
      let slot = free.get(n)?.pop();
      if (!slot) {
        slot = { buf: buffer(n, `the relevance of "${name}"`) };
        this.slotAt.set(slot.buf.ptr, slot);
      }
      this.slots.set(name, slot);
    };
    take(graph.logitsName);
    for (let i = nodes.length - 1; i >= 0; i--) {
      const node = nodes[i];
      for (const src of node.inputs) take(src);
      const slot = this.slots.get(node.name);
      if (slot) {
        const n = slot.buf.n;
        if (!free.has(n)) free.set(n, []);
        free.get(n)!.push(slot);
      }
    }
  }

  accumulate(names: readonly string[], rs: readonly Buf[], spent?: Buf): void {
    if (names.length === 2 && this.splitSum(names, rs)) return;
    names.forEach((name, k) => this.accumulateOne(name, rs[k], spent));
  }

  collected(name: string): Buf | undefined {
    return this.filled.has(name) ? this.slots.get(name)!.buf : undefined;
  }

  endNode(): void {
    this.handedOver = false;
  }

  /**
   * Norm's split of a sum over its two inputs, x_i * (R / stab(z)), in one pass that reads R and z once
   * and writes both inputs' relevance (or adds it): three passes over memory fewer than dividing, then
   * multiplying twice. Residual sums are where explanations of ResNets move the most relevance.
   */
  private splitSum(names: readonly string[], rs: readonly Buf[]): boolean {
    const split = names[0] === names[1] ? null : this.lowering.sumSplit(rs);
    if (!split) return false;
    const [slot1, slot2] = names.map((name) => this.slotOf(name, split.n));
    const [acc1, acc2] = names.map((name) => this.filled.has(name));
    names.forEach((name) => this.filled.add(name));
    this.elementwise('split_sum', [split.R.ptr, split.z?.ptr ?? 0, split.eps, split.a1.ptr, slot1.ptr, acc1 ? 1 : 0, split.a2.ptr, slot2.ptr, acc2 ? 1 : 0, split.n], split.n);
    return true;
  }

  private slotOf(name: string, n: number): Buf {
    const slot = this.slots.get(name)?.buf;
    if (!slot) return fail('BAD_GRAPH', `no relevance slot planned for "${name}"`);
    if (n !== slot.n) return fail('BAD_GRAPH', `relevance of ${n} values for "${name}", which has ${slot.n}`);
    return slot;
  }

  private accumulateOne(name: string, r: Buf, spent?: Buf): void {
    const slot = this.slotOf(name, r.n);
    const first = !this.filled.has(name);
    this.filled.add(name);
    if (this.lowering.store(r, slot, !first)) {
      // A rule's last step was computed where it lands.
    } else if (first && r === spent && !this.handedOver) {
      this.handOver(spent, slot);
    } else if (first) {
      // memory.copy inside wasm: no typed-array views to make (profiled at 8.6 ms an explanation of
      // resnet50-imagenet, against 12 ms for set() between views).
      this.k.copy(r.ptr, slot.ptr, slot.n);
    } else {
      this.elementwise('binary', [BINARY.add, slot.ptr, r.ptr, slot.ptr, slot.n], slot.n);
    }
  }

  /**
   * The spent node's slot becomes the receiving value's, and the receiver's planned slot takes the spent
   * one's place in the plan: the two are the same size and each is free when the plan gives it out again.
   */
  private handOver(spent: Buf, slot: Buf): void {
    const [a, b] = [this.slotAt.get(spent.ptr)!, this.slotAt.get(slot.ptr)!];
    [a.buf, b.buf] = [b.buf, a.buf];
    this.slotAt.set(a.buf.ptr, a);
    this.slotAt.set(b.buf.ptr, b);
    this.handedOver = true;
  }
}
