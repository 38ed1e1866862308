import type { NodeBase } from '../graph/node.js';
import { globalAvgPool, globalAvgPoolTranspose } from '../reference/kernels/pool.js';
import type { Vec } from '../rules/types.js';
import { defineOp, type Buf, type ReferenceContext, type WasmContext } from './op.js';
import { expectMap } from './shapes.js';

export interface GlobalAvgPoolNode extends NodeBase {
  op: 'GlobalAvgPool';
}

function referenceTranspose(node: GlobalAvgPoolNode, s: Vec, c: ReferenceContext): Vec[] {
  const [ch, h, w] = c.graph.shape(node.inputs[0]);
  return [globalAvgPoolTranspose(s, c.batch, ch, h * w)];
}

function wasmTranspose(node: GlobalAvgPoolNode, s: Buf, c: WasmContext): Buf[] {
  const dx = c.inputSized(node, `the transpose of "${node.name}"`);
  const [ch, h, w] = c.graph.shape(node.inputs[0]);
  c.k.gap_transpose(s.ptr, dx.ptr, c.batch * ch, h * w);
  return [dx];
}

/** The mean of each channel: a linear map without parameters, explained by Norm (its gradient is its transpose). */
export const globalAvgPoolOp = defineOp<GlobalAvgPoolNode>({
  type: 'GlobalAvgPool',
  arity: 1,
  role: 'pool',
  accepts: ['norm'],
  sign: 'keeps',
  shape(node, [s]) {
    const [c] = expectMap(node, s);
    return [c, 1, 1];
  },
  reference: {
    forward(node, [x], c) {
      const [ch, h, w] = c.graph.shape(node.inputs[0]);
      return globalAvgPool(x, c.batch, ch, h * w);
    },
    gradient: referenceTranspose,
    transpose: referenceTranspose,
  },
  wasm: {
    forward(node, [x], c) {
      const out = c.output(node);
      const [ch, h, w] = c.graph.shape(node.inputs[0]);
      c.k.gap_forward(x.ptr, out.ptr, c.batch * ch, h * w);
      return out;
    },
    gradient: wasmTranspose,
    transpose: wasmTranspose,
  },
});
