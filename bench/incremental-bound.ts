// How cheap could a region-perturbation curve be? The least a step could cost if each copy were computed
// from the one before, recomputing only the outputs a changed 8 x 8 patch reaches (a bounding box a
// layer, through convolutions, pools and sums), as a share of a full forward's multiply-adds, averaged
// over every patch position. Counts only; nothing runs. `node --import tsx bench/incremental-bound.ts [arch]`
import { buildModel } from '../src/index.js';
const g = buildModel(process.argv[2] ?? 'resnet50').canonicalGraph(true);
type Box = [number, number, number, number] | 'all' | null;
let full = 0;
let part = 0;
const P = 8;
const [, H, W] = g.input.shape;
for (let pr = 0; pr < H; pr += P) for (let pc = 0; pc < W; pc += P) {
  const box = new Map<string, Box>([[g.input.name, [pr, pr + P, pc, pc + P]]]);
  for (const n of g.nodes) {
    const ins = n.inputs.map((i) => box.get(i)!);
    const shape = g.shape(n.name);
    const [ho, wo] = shape.length === 3 ? [shape[1], shape[2]] : [1, 1];
    let b: Box;
    if (ins.some((x) => x === 'all')) b = 'all';
    else if ((n.op === 'Conv2d' || n.op === 'MaxPool2d' || n.op === 'AvgPool2d') && ins[0]) {
      const [r0, r1, c0, c1] = ins[0] as [number, number, number, number];
      const node = n as unknown as { kernel: [number, number]; stride: [number, number]; pads: [number, number, number, number]; dilation?: [number, number] };
      const d = node.dilation ?? [1, 1];
      const lo = (a: number, k: number, s: number, p: number, dd: number) => Math.max(0, Math.ceil((a - (k - 1) * dd + p) / s));
      const hi = (a: number, s: number, p: number, lim: number) => Math.min(lim, Math.floor((a - 1 + p) / s) + 1);
      b = [lo(r0, node.kernel[0], node.stride[0], node.pads[0], d[0]), hi(r1, node.stride[0], node.pads[0], ho), lo(c0, node.kernel[1], node.stride[1], node.pads[1], d[1]), hi(c1, node.stride[1], node.pads[1], wo)];
    } else if (shape.length !== 3) b = ins.some((x) => x) ? 'all' : null;
    else {
      const bs = ins.filter((x): x is [number, number, number, number] => !!x);
      b = bs.length ? [Math.min(...bs.map((x) => x[0])), Math.max(...bs.map((x) => x[1])), Math.min(...bs.map((x) => x[2])), Math.max(...bs.map((x) => x[3]))] : null;
    }
    box.set(n.name, b);
    if (n.op === 'Conv2d' || n.op === 'Linear') {
      const per = n.op === 'Conv2d' ? n.outChannels * (n.inChannels / n.groups) * n.kernel[0] * n.kernel[1] : n.inFeatures * n.outFeatures;
      const area = n.op === 'Conv2d' ? ho * wo : 1;
      full += per * area;
      const got = b === "all" ? area : b ? Math.max(0, b[1] - b[0]) * Math.max(0, b[3] - b[2]) : 0;
      part += per * got;
    }
  }
}
console.log(`${process.argv[2] ?? 'resnet50'}: an 8 x 8 patch's step recomputed alone costs ${(part / full).toFixed(3)} of a forward (mean over ${(H / P) * (W / P)} positions)`);
