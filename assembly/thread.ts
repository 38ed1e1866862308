// Which thread an instance runs on. The threaded build shares one linear memory between the instances
// of the main thread (0) and its workers (1, 2, ...), so a static scratch area (a kernel's 4x8 edge
// tile, a transposed geometry) is allocated once per possible thread and each instance uses its own
// copy. Globals are per instance: set_thread, called once when a worker starts, is the only state.
import { MAX_THREADS } from './constants.generated';

let threadIndex: i32 = 0;

export function set_thread(index: i32): void {
  if (index < 0 || index >= MAX_THREADS) unreachable();
  threadIndex = index;
}

/** This thread's copy of a static area of `bytes`, allocated MAX_THREADS times from `base`. */
@inline export function own(base: usize, bytes: usize): usize {
  return base + <usize>threadIndex * bytes;
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
