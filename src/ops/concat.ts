import { fail } from '../errors.js';
import type { NodeBase } from '../graph/node.js';
import type { Vec } from '../rules/types.js';
import { defineOp, where } from './op.js';

/** Its inputs side by side along channels (DenseNet, Inception); each input's relevance is its slice. */
export interface ConcatNode extends NodeBase {
  op: 'Concat';
}

/** Per sample, each input's values are one contiguous run of the output's: [offset, length] per input. */
function runs(shapes: readonly (readonly number[])[]): [number, number][] {
  let offset = 0;
  return shapes.map((s) => {
    const n = s.reduce((a, b) => a * b, 1);
    offset += n;
    return [offset - n, n];
  });
}

export const concatOp = defineOp<ConcatNode>({
  type: 'Concat',
  arity: 'many',
  // Slicing is the gradient, and it conserves relevance: no rule has anything else to do here.
  role: 'gradient',
  locality: 'elementwise',
  accepts: [],
  sign: 'keeps',
  shape(node, ins) {
    const [first] = ins;
    for (const s of ins) {
      if (s.length !== first.length || s.slice(1).some((d, i) => d !== first[i + 1])) {
        fail('BAD_GRAPH', `${where(node)} concatenates along channels inputs whose other dimensions differ: ${ins.map((x) => `[${x}]`).join(', ')}`);
      }
    }
    return [ins.reduce((c, s) => c + s[0], 0), ...first.slice(1)];
  },
  reference: {
    forward(node, xs, c) {
      const total = c.graph.shape(node.name).reduce((a, b) => a * b, 1);
      const out = new Float64Array(c.batch * total);
      runs(node.inputs.map((src) => c.graph.shape(src))).forEach(([offset, n], k) => {
        for (let b = 0; b < c.batch; b++) out.set(xs[k].subarray(b * n, (b + 1) * n), b * total + offset);
      });
      return out;
    },
    gradient(node, R, c) {
      const total = R.length / c.batch;
      return runs(node.inputs.map((src) => c.graph.shape(src))).map(([offset, n]) => {
        const r: Vec = new Float64Array(c.batch * n);
        for (let b = 0; b < c.batch; b++) r.set(R.subarray(b * total + offset, b * total + offset + n), b * n);
        return r;
      });
    },
  },
  wasm: {
    forward(node, xs, c) {
      const out = c.output(node);
      const total = out.n / c.batch;
      runs(node.inputs.map((src) => c.graph.shape(src))).forEach(([offset, n], k) => c.k.strided_copy(xs[k].ptr, out.ptr + offset * 4, c.batch, n, total, 0));
      return out;
    },
    gradient(node, R, c) {
      const total = R.n / c.batch;
      return runs(node.inputs.map((src) => c.graph.shape(src))).map(([offset, n], k) => {
        const r = c.sized(node.inputs[k], `the slice of "${node.name}" for "${node.inputs[k]}"`);
        c.k.strided_copy(r.ptr, R.ptr + offset * 4, c.batch, n, total, 1);
        return r;
      });
    },
  },
});
