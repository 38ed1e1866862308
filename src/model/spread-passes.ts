/**
 * Image-parallel passes: a call's images cut into pieces that several runners (replicas of the model on
 * worker threads, src/model/replica.ts) run at the same time, each piece whole on one thread. This
 * thread only hands out pieces: computing one here too, it read a worker's reply only after its own
 * piece, and the worker idled meanwhile (4 occlusion pieces of ResNet-50 went 1 to the worker, 3 here). A method's copies are independent images, so they need no fork-join
 * per layer: on 2 shared cores, 4 ResNet-50 forwards took 0.80-0.92 of the time of one 4-image pass
 * split layer by layer over 2 threads (.scratch probe, 5 rounds), close to 2 one-thread processes at once.
 * A call of one image runs as before, its layers split over the threads. Results do not depend on the
 * pieces or who ran them: each image's passes are the same, bit for bit, on any engine and thread count;
 * but a series (forwardSeries), whose images are computed from the one before, starts each piece with a
 * full forward: its logits depend on the cut up to float32 rounding.
 */
import type { Composite } from '../composites.js';
import type { Passes, Targets } from '../attribution/types.js';
import { applyChange } from '../graph/input-change.js';

/** The passes a runner takes pieces of. */
export type PassRunner = Pick<Passes, 'forward' | 'forwardSeries' | 'gradient' | 'lrp' | 'layerGradient'>;

/** A pass's result: arrays of its images one after another (and their targets). */
type Piece = object;

/**
 * `whole` for calls of one image; the runners (started on the first call of more, by `runners`) for
 * the rest, in pieces of at most `chunk` images, as many pieces a runner as evens out their number.
 */
export function spreadPasses(whole: Passes, runners: () => Promise<readonly PassRunner[]>, chunk: number): Passes {
  const per = whole.inputShape.reduce((a, b) => a * b, 1);

  async function spread<R extends Piece>(n: number, alone: () => Promise<R>, run: (r: PassRunner, x: [number, number], targets: (t: Targets) => Targets) => Promise<R>, most = chunk): Promise<R> {
    if (n < 2) return alone();
    const all = await runners();
    if (all.length < 2) return alone();
    const pieces = cut(n, all.length, most);
    const results: R[] = new Array(pieces.length);
    let next = 0;
    // A runner claims the next piece when it is free, so one on a slower core takes fewer.
    await Promise.all(
      all.map(async (r) => {
        for (let i = next++; i < pieces.length; i = next++) {
          const [at, m] = pieces[i];
          results[i] = await run(r, [at, m], (t) => t.slice(at, at + m));
        }
      }),
    ).catch((e) => {
      next = pieces.length;
      throw e;
    });
    return joined(results);
  }
  const images = (x: Float32Array, [at, m]: [number, number]) => x.subarray(at * per, (at + m) * per);

  return {
    graph: whole.graph,
    inputShape: whole.inputShape,
    numClasses: whole.numClasses,
    async forward(x, n) {
      const r = await spread(n, async () => ({ logits: await whole.forward(x, n) }), async (p, piece) => ({ logits: await p.forward(images(x, piece), piece[1]) }));
      return r.logits;
    },
    async forwardSeries(start, changes) {
      // A piece is a series of its own, from its first image: one forward in full a piece, so one piece a runner.
      const imageAt = (at: number) => {
        const image = start.slice();
        for (const change of changes.slice(0, at)) applyChange(image, whole.inputShape, change);
        return image;
      };
      const n = changes.length + 1;
      const r = await spread(n, async () => ({ logits: await whole.forwardSeries(start, changes) }), async (p, [at, m]) => ({ logits: await p.forwardSeries(imageAt(at), changes.slice(at, at + m - 1)) }), n);
      return r.logits;
    },
    gradient: (x, n, targets) => spread(n, () => whole.gradient(x, n, targets), (p, piece, slice) => p.gradient(images(x, piece), piece[1], slice(targets))),
    lrp: (x, n, targets, composite: Composite) => spread(n, () => whole.lrp(x, n, targets, composite), (p, piece, slice) => p.lrp(images(x, piece), piece[1], slice(targets), composite)),
    layerGradient: (x, n, targets, layer) => spread(n, () => whole.layerGradient(x, n, targets, layer), (p, piece, slice) => p.layerGradient(images(x, piece), piece[1], slice(targets), layer)),
  };
}

/**
 * [first image, images] of each piece: as many pieces as the runners times the rounds of `chunk` images
 * each needs (at most `n`), their sizes differing by one at most, the larger first.
 */
export function cut(n: number, runners: number, chunk: number): [number, number][] {
  const count = Math.min(n, runners * Math.ceil(n / (runners * chunk)));
  const small = Math.floor(n / count);
  const pieces: [number, number][] = [];
  for (let i = 0, at = 0; i < count; i++) {
    const m = small + (i < n % count ? 1 : 0);
    pieces.push([at, m]);
    at += m;
  }
  return pieces;
}

/** The pieces' results in order: arrays of images one after another, and the targets. */
function joined<R extends Piece>(results: R[]): R {
  const out: Record<string, Float32Array | number[]> = {};
  for (const key of Object.keys(results[0])) {
    const parts = results.map((r) => (r as Record<string, Float32Array | number[]>)[key]);
    if (parts[0] instanceof Float32Array) {
      const all = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
      let at = 0;
      for (const p of parts as Float32Array[]) {
        all.set(p, at);
        at += p.length;
      }
      out[key] = all;
    } else out[key] = (parts as number[][]).flat();
  }
  return out as R;
}
