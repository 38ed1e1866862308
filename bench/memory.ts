// Peak resident memory of one explanation, in a fresh process: `node --import tsx bench/memory.ts ARCH`.
// Prints one JSON line. Linux only (VmHWM from /proc/self/status). Where it goes: the wasm arena's peak
// (weights, their kept Winograd U, then the run's activations, relevance slots and scratch) and the
// JavaScript buffers (the model's own weights).
import { readFileSync } from 'node:fs';
import { benchModel } from './models.js';
import { activationBytes, weightBytes } from './flops.js';
import { enableRelaxedSimd } from '../src/cli/relaxed-simd.js';
import type { WasmEngine } from '../src/wasm/engine.js';

enableRelaxedSimd();

const arch = process.argv[2] ?? 'resnet50';
const composite = process.argv[3] ?? 'epsilon-plus-flat';
const hwm = () => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))![1]) * 1024;
const before = hwm();
const model = await benchModel(arch);
const x = new Float32Array(3 * 224 * 224).fill(0.1);
await model.explain(x, { composite, threads: 1 });
const graph = model.canonicalGraph(composite !== 'interpretdl');
// The model keeps its engine private; a benchmark may look inside.
const { engine } = await (model as unknown as { engine(o: object): Promise<{ engine: WasmEngine }> }).engine({ threads: 1 });
const wasmPeak = engine.arena.peak;
// Wasm memories are not counted among Node's array buffers (checked): these are the model's own.
const jsBuffers = process.memoryUsage().arrayBuffers;
console.log(JSON.stringify({ arch, composite, peakRss: hwm(), baselineRss: before, wasmPeak, jsBuffers, weights: weightBytes(model.graph), activations: activationBytes(graph) }));
