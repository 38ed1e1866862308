// Which thread an instance runs on. The threaded build shares one linear memory between the instances
// of the main thread (0) and its workers (1, 2, ...), so a static scratch area (a kernel's 4x8 edge
// tile, a transposed geometry) is allocated once per possible thread and each instance uses its own
// copy. Globals are per instance: set_thread, called once when a worker starts, is the only state.
// Also here: how a job's work is shared out (fixed shares, blocks, chunks claimed from a counter).
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
@inline export function blockLength(p: i32, p1: i32, perImage: i32, items: i32, panel: i32, block: i32): i32 {
  const n = p / perImage;
  const first = (p - n * perImage) * panel;
  return min(min(block, items - first), min(p1 - n * perImage, perImage) * panel - first);
}

/**
 * Chunks of work that a job's parts claim one at a time, whichever is free first, instead of fixed
 * shares: on shared machines two threads run at different speeds from one moment to the next (a worker
 * took 1.0-1.4x the main thread's time for the same share, ResNet-50's convolutions), and with fixed
 * halves the faster one waits. `queue` is the job's counter, shared by its parts and zeroed by the pool
 * before they start; with one part it is 0 and the chunks come in order. Which part computes a chunk
 * changes no output, so results stay the same bit for bit.
 */
@inline export function firstChunk(queue: usize): i32 {
  return nextChunk(queue, -1);
}

@inline export function nextChunk(queue: usize, chunk: i32): i32 {
  if (ASC_FEATURE_THREADS) {
    if (queue != 0) return atomic.add<i32>(queue, 1);
  }
  return chunk + 1;
}

/**
 * How many chunks `items` (panels, channels) are cut into for `parts` parts: one for one part (the
 * blocks are then those of a plain loop), else CHUNKS_PER_PART a part, fewer where a chunk would have
 * fewer than `least` items (where each chunk reads all the weights again); always a multiple of parts,
 * so that threads of one speed end together. Chunk c is [shareBegin(items, 1, c, n), ... c + 1 ...).
 */
@inline export function chunkCount(items: i32, parts: i32, least: i32): i32 {
  if (parts == 1) return 1;
  return parts * max(1, min(CHUNKS_PER_PART, items / (parts * least)));
}

/** Chunks a part aims at: enough that one running slower hands over a few, few enough to be cheap. */
const CHUNKS_PER_PART: i32 = 4;
