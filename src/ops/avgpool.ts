import type { NodeBase, Pads, Pair } from '../graph/node.js';
import { avgPool, avgPoolTranspose, poolShape } from '../reference/kernels/pool.js';
import type { Vec } from '../rules/types.js';
import { defineOp, type Buf, type ReferenceContext, type WasmContext } from './op.js';
import { expectMap, spatial } from './shapes.js';

export interface AvgPool2dNode extends NodeBase {
  op: 'AvgPool2d';
  kernel: Pair;
  stride: Pair;
  pads: Pads;
  /** Whether padded zeros count in the divisor (PyTorch's count_include_pad, ONNX's attribute). */
  countIncludePad: boolean;
}

function wasmPool(node: AvgPool2dNode, src: Buf, dst: Buf, transpose: boolean, c: WasmContext): void {
  const [ch, h, w] = c.graph.shape(node.inputs[0]);
  const [, ho, wo] = c.graph.shape(node.name);
  const [pt, pl, pb, pr] = node.pads;
  c.k.avgpool(src.ptr, dst.ptr, transpose ? 1 : 0, c.batch * ch, h, w, ho, wo, node.kernel[0], node.kernel[1], node.stride[0], node.stride[1], pt, pl, pb, pr, node.countIncludePad ? 1 : 0);
}

function referenceTranspose(node: AvgPool2dNode, s: Vec, c: ReferenceContext): Vec[] {
  return [avgPoolTranspose(s, poolShape(c.batch, c.graph.shape(node.inputs[0]), c.graph.shape(node.name)), node)];
}

function wasmTranspose(node: AvgPool2dNode, s: Buf, c: WasmContext): Buf[] {
  const dx = c.inputSized(node, `the transpose of "${node.name}"`);
  wasmPool(node, s, dx, true, c);
  return [dx];
}

/** Average pooling: a linear map without parameters, explained by Norm (its gradient is the same map's transpose). */
export const avgPoolOp = defineOp<AvgPool2dNode>({
  type: 'AvgPool2d',
  arity: 1,
  role: 'pool',
  locality: 'window',
  accepts: ['norm'],
  sign: 'keeps',
  shape(node, [s]) {
    const [c, h, w] = expectMap(node, s);
    const [ho, wo] = spatial(node, h, w, node.kernel, node.stride, node.pads);
    return [c, ho, wo];
  },
  reference: {
    forward: (node, [x], c) => avgPool(x, poolShape(c.batch, c.graph.shape(node.inputs[0]), c.graph.shape(node.name)), node),
    gradient: referenceTranspose,
    transpose: referenceTranspose,
  },
  wasm: {
    forward(node, [x], c) {
      const out = c.output(node);
      wasmPool(node, x, out, false, c);
      return out;
    },
    gradient: wasmTranspose,
    transpose: wasmTranspose,
  },
});
