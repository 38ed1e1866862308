import type { NodeBase } from '../graph/node.js';
import type { Vec } from '../rules/types.js';
import { rowsOf } from './linear.js';
import { defineOp, upload, where, type Buf, type ReferenceContext, type WasmContext } from './op.js';
import { checkLength } from './shapes.js';
import { fail } from '../errors.js';

/** y = (x - mean) / sqrt(var + epsilon) * weight + bias over the last axis of each row (a transformer's). */
export interface LayerNormNode extends NodeBase {
  op: 'LayerNorm';
  features: number;
  weight: Float32Array;
  bias: Float32Array | null;
  epsilon: number;
}

type Rows = { x: ArrayLike<number>; rows: number; d: number };

/** A sample batch's values as rows of the node's features. */
const rowsIn = (node: LayerNormNode, c: ReferenceContext, x: Vec): Rows => ({ x, rows: c.batch * rowsOf(c.graph.shape(node.name)), d: node.features });

/** Each row's mean and 1 / sqrt(var + epsilon) (the biased variance, as PyTorch's). */
function moments({ x, rows, d }: Rows, epsilon: number): { mean: Float64Array; inv: Float64Array } {
  const [mean, inv] = [new Float64Array(rows), new Float64Array(rows)];
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let i = 0; i < d; i++) s += x[r * d + i];
    const m = s / d;
    let v = 0;
    for (let i = 0; i < d; i++) v += (x[r * d + i] - m) ** 2;
    [mean[r], inv[r]] = [m, 1 / Math.sqrt(v / d + epsilon)];
  }
  return { mean, inv };
}

function forward(node: LayerNormNode, rows: Rows): Vec {
  const { x, d } = rows;
  const out = new Float64Array(x.length);
  const { mean, inv } = moments(rows, node.epsilon);
  for (let r = 0; r < rows.rows; r++) {
    for (let i = 0; i < d; i++) out[r * d + i] = (x[r * d + i] - mean[r]) * inv[r] * node.weight[i] + (node.bias ? node.bias[i] : 0);
  }
  return out;
}

/** dx = inv (g' - mean(g') - u mean(g' u)), g' = g weight, u = (x - mean) inv: the standard deviation's change included. */
function gradient(node: LayerNormNode, rows: Rows, g: ArrayLike<number>): Vec {
  const { x, d } = rows;
  const out = new Float64Array(x.length);
  const { mean, inv } = moments(rows, node.epsilon);
  for (let r = 0; r < rows.rows; r++) {
    let [sg, sgu] = [0, 0];
    for (let i = 0; i < d; i++) {
      const gw = g[r * d + i] * node.weight[i];
      sg += gw;
      sgu += gw * (x[r * d + i] - mean[r]) * inv[r];
    }
    for (let i = 0; i < d; i++) {
      const u = (x[r * d + i] - mean[r]) * inv[r];
      out[r * d + i] = inv[r] * (g[r * d + i] * node.weight[i] - sg / d - (u * sgu) / d);
    }
  }
  return out;
}

/** The gradient with the standard deviation held: dx = inv (g' - mean(g')), g' = g weight. */
function held(node: LayerNormNode, rows: Rows, g: ArrayLike<number>): Vec {
  const { x, d } = rows;
  const out = new Float64Array(x.length);
  const { inv } = moments(rows, node.epsilon);
  for (let r = 0; r < rows.rows; r++) {
    let sg = 0;
    for (let i = 0; i < d; i++) sg += g[r * d + i] * node.weight[i];
    for (let i = 0; i < d; i++) out[r * d + i] = inv[r] * (g[r * d + i] * node.weight[i] - sg / d);
  }
  return out;
}


/** Normalizes each row; LRP by the transformer composites' rule (std held constant, then epsilon); elsewhere the gradient. */
export const layerNormOp = defineOp<LayerNormNode>({
  type: 'LayerNorm',
  arity: 1,
  role: 'gradient',
  accepts: ['jacobian'],
  shape(node, [s]) {
    if (s[s.length - 1] !== node.features) fail('BAD_GRAPH', `${where(node)} normalizes ${node.features} features; its input's last axis has ${s[s.length - 1]}`);
    if (!(node.epsilon >= 0)) fail('BAD_GRAPH', `${where(node)}: epsilon must be at least 0, got ${node.epsilon}`);
    checkLength(node, 'weight', node.weight.length, node.features);
    checkLength(node, 'bias', node.bias, node.features);
    return s;
  },
  reference: {
    forward: (node, [x], c) => forward(node, rowsIn(node, c, x)),
    gradient: (node, R, c) => [gradient(node, rowsIn(node, c, c.value(node.inputs[0])), R)],
    linearized: (node, R, c) => [held(node, rowsIn(node, c, c.value(node.inputs[0])), R)],
  },
  // In float32 (assembly/layer-norm.ts), the weight and shift in the engine's memory once a session.
  wasm: {
    forward(node, [x], c) {
      const out = c.output(node);
      const { weight, bias } = wasmParams(node, c);
      c.k.layer_norm(x.ptr, weight, bias, out.ptr, c.batch * rowsOf(c.graph.shape(node.name)), node.features, node.epsilon);
      return out;
    },
    gradient: (node, R, c) => [wasmGradient(node, R, c, false)],
    linearized: (node, R, c) => [wasmGradient(node, R, c, true)],
  },
});

function wasmParams(node: LayerNormNode, c: WasmContext): { weight: number; bias: number } {
  return c.constants(node, () => ({
    weight: upload(c, node.weight, `the LayerNorm weight of "${node.name}"`),
    bias: node.bias ? upload(c, node.bias, `the LayerNorm shift of "${node.name}"`) : 0,
  }));
}

/** The gradient at the input, `held`: with the standard deviation held. */
function wasmGradient(node: LayerNormNode, R: Buf, c: WasmContext, held: boolean): Buf {
  const dx = c.inputSized(node, `the ${held ? 'held ' : ''}gradient at "${node.name}"`);
  c.k.layer_norm_gradient(c.value(node.inputs[0]).ptr, wasmParams(node, c).weight, R.ptr, dx.ptr, c.batch * rowsOf(c.graph.shape(node.name)), node.features, node.epsilon, held ? 1 : 0);
  return dx;
}
