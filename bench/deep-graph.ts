// A deep graph, end to end: `node --import tsx bench/deep-graph.ts [N]` builds a conv, N ReLUs and a
// linear layer, writes it as ONNX and times each step that touches every node: import, the first
// explanation (canonicalization, the wasm upload and slot plan, forward and relevance passes), and a
// second one. Every graph pass should be linear in N (issue 13: 100,000 ReLUs took minutes).
import { exportOnnx, loadModel, Model } from '../src/index.js';
import { Graph } from '../src/graph/graph.js';
import type { GraphNode } from '../src/graph/nodes.js';
import { enableRelaxedSimd } from '../src/cli/relaxed-simd.js';

enableRelaxedSimd();
const n = Number(process.argv[2] ?? 100_000);
const nodes: GraphNode[] = [
  { op: 'Conv2d', name: 'conv', inputs: ['x'], inChannels: 3, outChannels: 4, kernel: [3, 3], stride: [1, 1], pads: [1, 1, 1, 1], dilation: [1, 1], groups: 1, weight: new Float32Array(108).fill(0.1), bias: null },
];
for (let i = 0; i < n; i++) nodes.push({ op: 'ReLU', name: `relu${i}`, inputs: [nodes[nodes.length - 1].name] });
nodes.push({ op: 'Flatten', name: 'flat', inputs: [nodes[nodes.length - 1].name] });
nodes.push({ op: 'Linear', name: 'fc', inputs: ['flat'], inFeatures: 64, outFeatures: 2, weight: new Float32Array(128).fill(0.01), bias: null });

const time = async <T>(what: string, f: () => T | Promise<T>): Promise<T> => {
  const t = performance.now();
  const r = await f();
  console.log(`${what.padEnd(24)} ${(performance.now() - t).toFixed(0).padStart(7)} ms`);
  return r;
};
console.log(`${n} ReLUs between a conv and a linear layer (${n + 3} nodes)`);
const graph = await time('build the graph', () => new Graph({ name: 'x', shape: [3, 4, 4] }, nodes));
const onnx = await time('export ONNX', () => exportOnnx(new Model(graph)));
console.log(`${'ONNX size'.padEnd(24)} ${(onnx.length / 1e6).toFixed(1).padStart(7)} MB`);
const model = await time('import ONNX', () => loadModel(onnx));
const x = new Float32Array(48).fill(0.5);
await time('first explanation', () => model.explain(x));
const r = await time('second explanation', () => model.explain(x));
console.log(`relevance sums to ${r.relevance.reduce((a, b) => a + b, 0).toFixed(4)}`);
