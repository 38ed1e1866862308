// Which thread an instance runs on. The threaded build shares one linear memory between the instances
// of the main thread (0) and its workers (1, 2, ...), so a static scratch area (a kernel's 4x8 edge
// tile, a transposed geometry) is allocated once per possible thread and each instance uses its own
// copy. Globals are per instance: set_thread, called once when a worker starts, is the only state.
// Also here: how a job's work is shared out (fixed shares, or blocks in chunks claimed from a counter).
import { MAX_THREADS } from './constants.generated';

let threadIndex: i32 = 0;

export function set_thread(index: i32): void {
  if (index < 0 || index >= MAX_THREADS) unreachable();
  threadIndex = index;
}

/**
 * Bytes from one thread's copy of a static area to the next: whole pairs of 64-byte cache lines (the
 * prefetcher fetches lines in pairs), so that no two threads write into one line. The areas are written
 * in inner loops (a border tile's patch, a GEMM edge tile): packed 16 bytes apart, two threads' copies
 * could share a line, which then moves between the cores at every write (false sharing).
 */
export const COPY_ALIGN: i32 = 128;
@inline function copyStride(bytes: usize): usize {
  return (bytes + <usize>COPY_ALIGN - 1) & ~(<usize>COPY_ALIGN - 1);
}

/**
 * This thread's copy of a static area of `bytes` at `base`, allocated (a constant expression)
 * `memory.data(((bytes + COPY_ALIGN - 1) & ~(COPY_ALIGN - 1)) * MAX_THREADS, COPY_ALIGN)`.
 */
@inline export function own(base: usize, bytes: usize): usize {
  return base + <usize>threadIndex * copyStride(bytes);
}

/**
 * [begin, end) of share `part` of `n` items split into `parts` nearly equal runs, each boundary a
 * multiple of `align` (the GEMM's 4-row panels), so every part's work is whole panels but the last.
 */
@inline export function shareBegin(n: i32, align: i32, part: i32, parts: i32): i32 {
  const units = (n + align - 1) / align;
  return min(n, <i32>((<i64>units * part) / parts) * align);
}

/**
 * How many items the block starting at panel p takes, in a part's run of panels [p, p1): at most
 * `block` items, within one image (`perImage` panels of `panel` items, the last one short: `items`
 * items an image). Over a whole batch in one part the blocks are those of a loop over images.
 */
@inline function blockLength(p: i32, p1: i32, perImage: i32, items: i32, panel: i32, block: i32): i32 {
  const n = p / perImage;
  const first = (p - n * perImage) * panel;
  return min(min(block, items - first), min(p1 - n * perImage, perImage) * panel - first);
}

/**
 * The blocks of a pass's work, for every kernel that shares it out in chunks: the batch's panels (of
 * `panel` items: GEMM columns, Winograd tiles), `perImage` panels an image (the last one short: `items`
 * items), cut into `chunks` chunks (src/wasm/conv-plan.ts chose how many) that the job's parts claim
 * one at a time from `queue`, whichever is free first, instead of fixed shares: on shared machines two
 * threads run at different speeds from one moment to the next (a worker took 1.0-1.4x the main thread's
 * time for the same share, ResNet-50's convolutions), and with fixed halves the faster one waits. Each
 * chunk is walked in blocks of at most `block` items within one image. With queue 0 (one part, or
 * parts that split the channels and each walk every block) the chunks come in order. Which part
 * computes a chunk changes no output, so results stay the same bit for bit.
 *
 *   const b = blocks(queue, chunks, batch, items, panel, block);
 *   while (b.next()) { ... image b.image, items [b.first, b.first + b.length) ... }
 */
@unmanaged export class Blocks {
  queue: usize;
  chunks: i32;
  chunk: i32;
  panels: i32;
  perImage: i32;
  items: i32;
  panel: i32;
  block: i32;
  p: i32;
  p1: i32;
  image: i32;
  first: i32;
  length: i32;

  /** Moves to the next block of this part's chunks; false when there is none. */
  next(): bool {
    while (this.p >= this.p1) {
      this.chunk = this.claim();
      if (this.chunk >= this.chunks) return false;
      this.p = shareBegin(this.panels, 1, this.chunk, this.chunks);
      this.p1 = shareBegin(this.panels, 1, this.chunk + 1, this.chunks);
    }
    const n = this.p / this.perImage;
    this.image = n;
    this.first = (this.p - n * this.perImage) * this.panel;
    this.length = blockLength(this.p, this.p1, this.perImage, this.items, this.panel, this.block);
    this.p += (this.length + this.panel - 1) / this.panel;
    return true;
  }

  @inline private claim(): i32 {
    if (ASC_FEATURE_THREADS) {
      if (this.queue != 0) return atomic.add<i32>(this.queue, 1);
    }
    return this.chunk + 1;
  }
}

const BLOCKS_BYTES: i32 = 64;
const blocksAll = memory.data(((BLOCKS_BYTES + COPY_ALIGN - 1) & ~(COPY_ALIGN - 1)) * MAX_THREADS, COPY_ALIGN);

/** This thread's walk over a pass's blocks (see Blocks); one at a time. */
export function blocks(queue: usize, chunks: i32, batch: i32, items: i32, panel: i32, block: i32): Blocks {
  if (offsetof<Blocks>() > <usize>BLOCKS_BYTES) unreachable();
  const b = changetype<Blocks>(own(blocksAll, <usize>BLOCKS_BYTES));
  const perImage = (items + panel - 1) / panel;
  b.queue = queue;
  b.chunks = chunks;
  b.chunk = -1;
  b.panels = batch * perImage;
  b.perImage = perImage;
  b.items = items;
  b.panel = panel;
  b.block = block;
  b.p = 0;
  b.p1 = 0;
  return b;
}
