/**
 * The engine in other JavaScript runtimes: Deno and Bun (both installed from npm as dev dependencies)
 * run spec/runtimes/explain.mjs against the published build in dist/, which `npm test` rebuilds first;
 * Chromium (Debian's, through playwright-core) runs the same script bundled by esbuild for the browser,
 * in an about:blank page. Deno runs it with no permissions, so the kernels load without the file system
 * or the network. Chromium is not an npm package: without /usr/bin/chromium its test is skipped, unless
 * RELPROP_BROWSER=required (.ci/run installs it and sets that), when its absence fails.
 *
 * The plain SIMD build must give Node's relevance bit for bit: the same wasm module, whose float
 * operations (no relaxed ones) IEEE 754 defines exactly. The relaxed build may differ where an engine
 * fuses a multiply-add and another does not (one rounding less per term): held to 1e-5 of the scale,
 * ten times the float32 rounding of a 4608-term sum's partial products and well below the 1e-4 the
 * wasm engine is held to against the float64 reference.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { buildModel } from '../src/index.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SCRIPT = join(ROOT, 'spec/runtimes/explain.mjs');
const run = promisify(execFile);

type Result = { target: number; logits: number[]; relevance: string } | { error: string };
type Output = { runtime: string; results: Record<string, Result> };

// The same model and input as the script.
const model = buildModel('resnet18', { inputSize: 32, width: 8, hidden: 32, numClasses: 10, seed: 4 });
const x = Float32Array.from({ length: 3 * 32 * 32 }, (_, i) => Math.sin(i * 0.37));

function decode(b64: string): Float32Array {
  const bytes = Uint8Array.from(Buffer.from(b64, 'base64'));
  return new Float32Array(bytes.buffer);
}

async function inProcess(name: string, args: string[]): Promise<Output> {
  const { stdout } = await run(join(ROOT, 'node_modules/.bin', name), args, { cwd: ROOT, maxBuffer: 1 << 24 });
  return JSON.parse(stdout.trim().split('\n').pop()!) as Output;
}

const CHROMIUM = '/usr/bin/chromium';

async function inChromium(): Promise<Output> {
  const esbuild = await import('esbuild');
  // node: imports in dist are dynamic and only on Node's paths (files, the model registry); a bundler
  // leaves them out. package.json's "browser" field drops the registry fetcher (tar) the same way.
  const bundle = await esbuild.build({ entryPoints: [SCRIPT], bundle: true, format: 'esm', platform: 'browser', write: false, external: ['node:*'], logLevel: 'silent' });
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  try {
    const page = await browser.newPage();
    // An uncaught error in the page (a failed wasm compile, say) fails the test with its message.
    const failed = new Promise<never>((_, reject) => page.on('pageerror', reject));
    await page.goto('about:blank');
    await page.addScriptTag({ type: 'module', content: bundle.outputFiles[0].text });
    const done = page.waitForFunction(() => (globalThis as { relpropResult?: unknown }).relpropResult, null, { timeout: 60_000 });
    return (await Promise.race([done.then((h) => h.jsonValue()), failed])) as Output;
  } finally {
    await browser.close();
  }
}

const runtimes: [string, () => Promise<Output>, boolean][] = [
  ['deno', () => inProcess('deno', ['run', '--no-prompt', SCRIPT]), true],
  ['bun', () => inProcess('bun', [SCRIPT]), true],
  ['browser', inChromium, existsSync(CHROMIUM) || process.env.RELPROP_BROWSER === 'required'],
];

describe('other runtimes', () => {
  for (const [name, runIt, available] of runtimes) {
    it.skipIf(!available)(`${name} loads the kernels and explains as Node does`, async () => {
      const out = await runIt();
      expect(out.runtime).toBe(name);
      const simd = out.results.simd;
      if ('error' in simd) throw new Error(`${name}, simd kernels: ${simd.error}`);
      const ours = await model.explain(x, { composite: 'epsilon-plus-flat', kernels: 'simd' });
      expect(simd.target).toBe(ours.target);
      expect(Float32Array.from(simd.logits)).toEqual(ours.logits);
      expect(decode(simd.relevance)).toEqual(ours.relevance);

      const relaxed = out.results['relaxed-simd'];
      if ('error' in relaxed) {
        // Allowed only as the engine's refusal of a build the runtime lacks.
        expect(relaxed.error).toMatch(/no relaxed SIMD/);
        return;
      }
      const theirs = decode(relaxed.relevance);
      const ref = (await model.explain(x, { composite: 'epsilon-plus-flat', kernels: 'relaxed-simd' })).relevance;
      const scale = Math.max(...Array.from(ref, Math.abs));
      const diff = Math.max(...Array.from(ref, (v, i) => Math.abs(v - theirs[i])));
      expect(theirs.length).toBe(ref.length);
      expect(diff).toBeLessThanOrEqual(1e-5 * scale);
    });
  }
});
