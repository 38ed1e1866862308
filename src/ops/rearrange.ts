/**
 * What the ops that move values without computing share (Transpose, Slice, Take, ConstantConcat: a
 * transformer's heads and tokens): per sample, each output value is one input value or a constant, so
 * an op is its table of sources, made once per node from its shapes. The forward gathers by the table;
 * the gradient scatters back (each input value feeds at most one output here, so nothing adds up), and
 * relevance moves with it: a constant's share stays where it is (a class token absorbs its own).
 */
import type { AnyNode, Shape } from '../graph/node.js';
import type { Vec } from '../rules/types.js';
import { upload, type Buf, type OpDefinition, type Shapes, type WasmContext } from './op.js';

/**
 * Per output value of one sample, the input value it is (an index into the sample's input), or -1 - k
 * for the k-th value of the op's constant.
 */
export type Sources = Int32Array;

/** A node's table, the shapes it was made for (a node object in a graph of other shapes gets its own), and its runs once asked. */
interface Table {
  key: string;
  sources: Sources;
  runs?: Int32Array;
}
const tables = new WeakMap<AnyNode, Table>();

/** The node's table, made once for its shapes: `make` from its input's and its output's. */
function tableOf(node: AnyNode, graph: Shapes, make: (input: Shape, output: Shape) => Sources): Table {
  const [input, output] = [graph.shape(node.inputs[0]), graph.shape(node.name)];
  const key = `${input} ${output}`;
  let t = tables.get(node);
  if (!t || t.key !== key) tables.set(node, (t = { key, sources: make(input, output) }));
  return t;
}

/**
 * The table as runs, triples [to, from, length]: `length` outputs from `to` on whose sources follow
 * each other from `from` on (in the input, or the constant's -1 - k, -2 - k, ...). A slice's rows, a
 * head's tokens and the class token are a few long runs; a transposed head single values.
 */
export function runsOf(sources: Sources): Int32Array {
  const runs: number[] = [];
  for (let i = 0; i < sources.length; ) {
    const s = sources[i];
    const step = s >= 0 ? 1 : -1;
    let length = 1;
    while (i + length < sources.length && sources[i + length] === s + step * length) length++;
    runs.push(i, s, length);
    i += length;
  }
  return Int32Array.from(runs);
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

/** The node's runs and constant in the engine's memory, once a session. */
function wasmRuns(node: AnyNode, c: WasmContext, table: Table, constant?: Float32Array): { runs: number; count: number; constant: number } {
  return c.constants(node, () => {
    const runs = (table.runs ??= runsOf(table.sources));
    const ptr = c.arena.alloc(runs.length * 4, `the moves of "${node.name}"`);
    c.arena.i32(ptr, runs.length).set(runs);
    return { runs: ptr, count: runs.length / 3, constant: constant ? upload(c, constant, `the constant of "${node.name}"`) : 0 };
  });
}

function gatherWasm(node: AnyNode, x: Buf, c: WasmContext, table: Table, constant?: Float32Array): Buf {
  const out = c.output(node);
  const moves = wasmRuns(node, c, table, constant);
  c.k.gather_runs(x.ptr, out.ptr, moves.runs, moves.count, moves.constant, c.batch, x.n / c.batch, out.n / c.batch);
  return out;
}

function scatterWasm(node: AnyNode, R: Buf, c: WasmContext, table: Table): Buf {
  const dx = c.inputSized(node, `the gradient at "${node.name}"`);
  const moves = wasmRuns(node, c, table);
  c.k.scatter_runs(R.ptr, dx.ptr, moves.runs, moves.count, c.batch, dx.n / c.batch, R.n / c.batch);
  return dx;
}

/**
 * The reference and wasm passes of a move given its table (`sources` of the node and its input's and
 * output's shapes) and its constant, if any: what Transpose, Slice, Take and ConstantConcat each are.
 */
export function movePasses<N extends AnyNode>(sources: (node: N, input: Shape, output: Shape) => Sources, constant?: (node: N) => Float32Array): Pick<OpDefinition<N>, 'reference' | 'wasm'> {
  const table = (node: N, graph: Shapes) => tableOf(node, graph, (i, o) => sources(node, i, o));
  const inputSize = (node: N, graph: Shapes) => graph.shape(node.inputs[0]).reduce((a, b) => a * b, 1);
  return {
    reference: {
      forward: (node, [x], c) => gatherReference(x, c.batch, inputSize(node, c.graph), table(node, c.graph).sources, constant?.(node)),
      gradient: (node, R, c) => [scatterReference(R, c.batch, inputSize(node, c.graph), table(node, c.graph).sources)],
    },
    wasm: {
      forward: (node, [x], c) => gatherWasm(node, x, c, table(node, c.graph), constant?.(node)),
      gradient: (node, R, c) => [scatterWasm(node, R, c, table(node, c.graph))],
    },
  };
}
