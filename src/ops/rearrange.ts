/**
 * What the ops that move values without computing share (Transpose, Slice, Take, ConstantConcat: a
 * transformer's heads and tokens): per sample, each output value is one input value or a constant, so
 * an op is its table of sources, made once per node from its shapes. The forward gathers by the table;
 * the gradient scatters back (each input value feeds at most one output here, so nothing adds up), and
 * relevance moves with it: a constant's share stays where it is (a class token absorbs its own).
 */
import type { AnyNode, Shape } from '../graph/node.js';
import type { Vec } from '../rules/types.js';
import type { Buf, OpDefinition, Shapes, WasmContext } from './op.js';

/**
 * Per output value of one sample, the input value it is (an index into the sample's input), or -1 - k
 * for the k-th value of the op's constant.
 */
export type Sources = Int32Array;

/** Each node's table and the shapes it was made for (a node object in a graph of other shapes gets its own). */
const tables = new WeakMap<AnyNode, { key: string; sources: Sources }>();

/** The node's table, made once for its shapes: `make` from its input's and its output's. */
function sourcesOf(node: AnyNode, graph: Shapes, make: (input: Shape, output: Shape) => Sources): Sources {
  const [input, output] = [graph.shape(node.inputs[0]), graph.shape(node.name)];
  const key = `${input} ${output}`;
  let t = tables.get(node);
  if (!t || t.key !== key) tables.set(node, (t = { key, sources: make(input, output) }));
  return t.sources;
}

/** Row-major strides of a shape. */
export function strides(shape: Shape): number[] {
  const s = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1] * shape[i + 1];
  return s;
}

/** Calls f(flat index, coordinates) for every position of a shape, in row-major order. */
export function eachIndex(shape: Shape, f: (i: number, at: number[]) => void): void {
  const at = new Array<number>(shape.length).fill(0);
  const n = shape.reduce((a, b) => a * b, 1);
  for (let i = 0; i < n; i++) {
    f(i, at);
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++at[d] < shape[d]) break;
      at[d] = 0;
    }
  }
}

function gatherReference(x: Vec, batch: number, inN: number, sources: Sources, constant?: Float32Array): Vec {
  const n = sources.length;
  const out = new Float64Array(batch * n);
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < n; i++) {
      const s = sources[i];
      out[b * n + i] = s >= 0 ? x[b * inN + s] : constant![-1 - s];
    }
  }
  return out;
}

function scatterReference(R: Vec, batch: number, inN: number, sources: Sources): Vec {
  const n = sources.length;
  const out = new Float64Array(batch * inN);
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < n; i++) if (sources[i] >= 0) out[b * inN + sources[i]] += R[b * n + i];
  }
  return out;
}

/**
 * The same on the wasm engine's memory, in TypeScript: a transformer's moves are a few thousand values
 * a sample, far below its matrix products.
 */
function gatherWasm(node: AnyNode, x: Buf, c: WasmContext, sources: Sources, constant?: Float32Array): Buf {
  const out = c.output(node);
  const inN = x.n / c.batch;
  const [src, dst] = [c.arena.f32(x.ptr, x.n), c.arena.f32(out.ptr, out.n)];
  const n = sources.length;
  for (let b = 0; b < c.batch; b++) {
    for (let i = 0; i < n; i++) {
      const s = sources[i];
      dst[b * n + i] = s >= 0 ? src[b * inN + s] : constant![-1 - s];
    }
  }
  return out;
}

function scatterWasm(node: AnyNode, R: Buf, c: WasmContext, sources: Sources): Buf {
  const dx = c.inputSized(node, `the gradient at "${node.name}"`);
  const inN = dx.n / c.batch;
  const [r, dst] = [c.arena.f32(R.ptr, R.n), c.arena.f32(dx.ptr, dx.n)];
  dst.fill(0);
  const n = sources.length;
  for (let b = 0; b < c.batch; b++) {
    for (let i = 0; i < n; i++) if (sources[i] >= 0) dst[b * inN + sources[i]] += r[b * n + i];
  }
  return dx;
}

/**
 * The reference and wasm passes of a move given its table (`sources` of the node and its input's and
 * output's shapes) and its constant, if any: what Transpose, Slice, Take and ConstantConcat each are.
 */
export function movePasses<N extends AnyNode>(sources: (node: N, input: Shape, output: Shape) => Sources, constant?: (node: N) => Float32Array): Pick<OpDefinition<N>, 'reference' | 'wasm'> {
  const table = (node: N, graph: Shapes) => sourcesOf(node, graph, (i, o) => sources(node, i, o));
  const inputSize = (node: N, graph: Shapes) => graph.shape(node.inputs[0]).reduce((a, b) => a * b, 1);
  return {
    reference: {
      forward: (node, [x], c) => gatherReference(x, c.batch, inputSize(node, c.graph), table(node, c.graph), constant?.(node)),
      gradient: (node, R, c) => [scatterReference(R, c.batch, inputSize(node, c.graph), table(node, c.graph))],
    },
    wasm: {
      forward: (node, [x], c) => gatherWasm(node, x, c, table(node, c.graph), constant?.(node)),
      gradient: (node, R, c) => [scatterWasm(node, R, c, table(node, c.graph))],
    },
  };
}
