// `npm run build:web`: the demo page as static files in dist/web (the page, its two bundles, the
// service worker, the example photos), for `relprop demo` or any static host. Prints each file's size.
import { build } from 'esbuild';
import { cpSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist/web');
// Whatever an earlier build left (another set of bundles) would be served beside this one.
rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'examples'), { recursive: true });

// The library's Node-only paths are dynamic imports of node: modules, never taken in a browser; the
// npm fetcher (tar) is one of them too, left out as package.json's "browser" field says for dist/.
const nodeOnly = {
  name: 'node-only',
  setup(b) {
    b.onResolve({ filter: /registry\/npm-fetch\.js$/ }, () => ({ path: 'npm-fetch', namespace: 'node-only' }));
    b.onLoad({ filter: /.*/, namespace: 'node-only' }, () => ({ contents: 'export async function fetchNpmPackage() { throw new Error("fetching npm packages needs Node"); }' }));
  },
};
const result = await build({
  // plot.js (Vega-Lite and Vega, for the evaluate panel) is its own bundle, imported by the worker when
  // first used, so the page's start does not fetch it.
  entryPoints: { app: join(root, 'web/app.ts'), worker: join(root, 'web/worker.ts'), sw: join(root, 'web/sw.ts'), plot: join(root, 'web/plot.ts') },
  outdir: out,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  sourcemap: false,
  external: ['node:*'],
  plugins: [nodeOnly],
  logLevel: 'warning',
  metafile: !!process.env.WEB_META,
});
cpSync(join(root, 'web/index.html'), join(out, 'index.html'));
for (const f of readdirSync(join(root, 'examples'))) if (/\.(png|jpe?g)$/.test(f)) cpSync(join(root, 'examples', f), join(out, 'examples', f));
const kib = (f) => `${(statSync(join(out, f)).size / 1024).toFixed(0)} KiB`;
console.log(`dist/web: index.html ${kib('index.html')}, app.js ${kib('app.js')}, worker.js ${kib('worker.js')}, plot.js ${kib('plot.js')}, sw.js ${kib('sw.js')}`);
// WEB_META=1: what the bundles are made of, largest first.
if (result.metafile) {
  for (const [file, o] of Object.entries(result.metafile.outputs)) {
    const top = Object.entries(o.inputs).sort((a, b) => b[1].bytesInOutput - a[1].bytesInOutput).slice(0, 8);
    console.log(file, top.map(([k, v]) => `${k} ${(v.bytesInOutput / 1024).toFixed(0)} KiB`).join('; '));
  }
}
