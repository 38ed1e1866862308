// Run by spec/runtimes.spec.ts under Deno, Bun and (bundled by esbuild) Chromium: the published build in
// dist/, in plain JavaScript. One explanation of a small seeded ResNet-18 with each build of the
// kernels, printed as JSON with the relevance's float32 bytes in base64 (and, in a page, left in
// globalThis.relpropResult). Deno runs it with no permissions at all, so loading the kernels cannot
// touch the file system or the network.
import { buildModel } from '../../dist/index.js';

const model = buildModel('resnet18', { inputSize: 32, width: 8, hidden: 32, numClasses: 10, seed: 4 });
const x = Float32Array.from({ length: 3 * 32 * 32 }, (_, i) => Math.sin(i * 0.37));
const runtime = typeof Deno !== 'undefined' ? 'deno' : typeof Bun !== 'undefined' ? 'bun' : typeof document !== 'undefined' ? 'browser' : 'node';
const out = { runtime, results: {} };
for (const kernels of ['simd', 'relaxed-simd']) {
  let e;
  try {
    e = await model.explain(x, { composite: 'epsilon-plus-flat', kernels });
  } catch (err) {
    // A runtime without relaxed SIMD refuses that build by name; anything else is a failure.
    out.results[kernels] = { error: String(err && err.message) };
    continue;
  }
  const bytes = new Uint8Array(e.relevance.buffer, e.relevance.byteOffset, e.relevance.byteLength);
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  out.results[kernels] = { target: e.target, logits: Array.from(e.logits), relevance: btoa(bin) };
}
model.dispose();
console.log(JSON.stringify(out));
globalThis.relpropResult = out;
