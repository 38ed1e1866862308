/**
 * occlusion, as Captum's Occlusion with a window over all channels:
 *   A(x)_e = mean over the windows W covering e of  logit_t(x) - logit_t(x with W set to fill).
 * Windows start at multiples of the stride along each axis, ceil((H - h) / s) + 1 of them, and the last
 * is cut at the edge (not moved back), so every element is covered; Captum's order (rows fastest) is
 * kept. The stride may not exceed the window (Captum asserts it: elements would go uncovered).
 * The occluded copies run as batches of forwards, `GROUP` windows at a time to bound memory.
 */
import { fail } from '../../errors.js';
import { finite, window } from '../params.js';
import type { MethodDefinition } from '../types.js';

/** Occluded copies built and forwarded at once: 64 of 3 x 224 x 224 are 38 MB. */
const GROUP = 64;

export const occlusion: MethodDefinition = {
  name: 'occlusion',
  description: 'mean logit drop when a sliding window is filled (Captum Occlusion)',
  params: ['window', 'stride', 'fill'],
  resolve: (options, { inputShape }) => {
    const [, H, W] = inputShape;
    const size = window(options.window, 'window', 8, [H, W]);
    const stride = window(options.stride, 'stride', size, [H, W]);
    if (stride[0] > size[0] || stride[1] > size[1]) fail('BAD_OPTION', `stride ${stride.join(' x ')} is larger than the window ${size.join(' x ')}: elements between windows would not be covered`);
    const fill = finite(options.fill, 'fill', 0);
    return {
      method: 'occlusion',
      settings: { window: size, stride, fill },
      shading: 'signed',
      findsTargets: false,
      run: async (passes, x, batch, targets) => {
        const starts = (length: number, w: number, s: number) => Array.from({ length: Math.ceil((length - w) / s) + 1 }, (_, i) => i * s);
        const windows = starts(W, size[1], stride[1]).flatMap((x0) => starts(H, size[0], stride[0]).map((y0) => [y0, x0]));
        const C = inputShape[0];
        const per = C * H * W;
        const k = passes.numClasses;
        const clean = await passes.forward(x, batch);
        const total = new Float64Array(x.length);
        const count = new Float64Array(H * W);
        for (let g = 0; g < windows.length; g += GROUP) {
          const group = windows.slice(g, g + GROUP);
          const copies = new Float32Array(group.length * x.length);
          group.forEach(([y0, x0], j) => {
            const copy = copies.subarray(j * x.length, (j + 1) * x.length);
            copy.set(x);
            for (let b = 0; b < batch; b++) for (let c = 0; c < C; c++) for (let y = y0; y < Math.min(y0 + size[0], H); y++) copy.fill(fill, b * per + (c * H + y) * W + x0, b * per + (c * H + y) * W + Math.min(x0 + size[1], W));
          });
          const logits = await passes.forward(copies, group.length * batch);
          group.forEach(([y0, x0], j) => {
            for (let y = y0; y < Math.min(y0 + size[0], H); y++) for (let xx = x0; xx < Math.min(x0 + size[1], W); xx++) count[y * W + xx]++;
            for (let b = 0; b < batch; b++) {
              const t = targets[b]!;
              const drop = clean[b * k + t] - logits[(j * batch + b) * k + t];
              for (let c = 0; c < C; c++) for (let y = y0; y < Math.min(y0 + size[0], H); y++) for (let xx = x0; xx < Math.min(x0 + size[1], W); xx++) total[b * per + (c * H + y) * W + xx] += drop;
            }
          });
        }
        return { attribution: Float32Array.from(total, (t, i) => t / count[i % (H * W)]), outputs: { logits: clean, targets: targets as number[] } };
      },
    };
  },
};
