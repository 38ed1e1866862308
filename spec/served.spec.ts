/**
 * A known model as `relprop demo` serves it (issue 27 item 6: the demo's worker loads it through the
 * library): a graph model in a package folder with its labels, behind a manifest that lists every
 * file's size, fetched over HTTP from a local server with progress, and each file bounded by its size.
 */
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel, prepareModel } from '../src/index.js';
import { servedModelPath } from '../src/io/registry/default-model.js';
import { loadServedModel } from '../src/io/registry/served.js';
import { vggLike } from './helpers/graph-models.js';

const files = vggLike(5);
const labels = Array.from({ length: 10 }, (_, i) => `class_${i}`);
const root = mkdtempSync(join(tmpdir(), 'relprop-served-'));
const packageDir = join(root, 'package');
mkdirSync(join(packageDir, 'model'), { recursive: true });
writeFileSync(join(packageDir, 'model/model.json'), JSON.stringify(files.json));
writeFileSync(join(packageDir, 'model/group1-shard1of1.bin'), files.shard);
writeFileSync(join(packageDir, 'labels.json'), JSON.stringify(labels));
const manifest = (sizes: Record<string, number>) => ({
  name: 'tiny-vgg',
  description: 'a test model',
  source: { npm: 'tiny-vgg', version: '1.0.0', integrity: 'sha512-test' },
  format: 'keras',
  model: 'model/model.json',
  labels: 'labels.json',
  extract: ['model/', 'labels.json'],
  input: [3, 16, 16],
  preprocessing: { name: 'keras-tf', size: [16, 16], resize: 'stretch', scale: 1 / 255, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], channelOrder: 'RGB' },
  sizes,
});
let server: Server;
let base = '';
/** The manifest the server sends: the true sizes unless a test says otherwise. */
let sizes: Record<string, number> = { 'model/model.json': 0, 'model/group1-shard1of1.bin': files.shard.byteLength, 'labels.json': 0 };
/** The model's prepared form, served as model.relprop and listed in the manifest, once a test sets it. */
let prepared: Uint8Array | undefined;
/** The prepared form's version the manifest lists, once a test sets it. */
let version: string | undefined;
/** The URLs the server was asked for. */
const asked: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    asked.push(req.url ?? '');
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname).replace(`/${servedModelPath('tiny-vgg')}`, '');
    if (path === 'model.relprop' && prepared) return void res.writeHead(200, { 'Content-Length': prepared.byteLength }).end(prepared);
    const body = path === 'manifest.json' ? Buffer.from(JSON.stringify({ ...manifest(sizes), ...(prepared ? { prepared: { file: 'model.relprop', size: prepared.byteLength, ...(version ? { version } : {}) } } : {}) })) : (() => {
      try {
        return readFileSync(join(packageDir, path));
      } catch {
        return null;
      }
    })();
    if (!body) return void res.writeHead(404).end();
    res.writeHead(200, { 'Content-Length': body.byteLength }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/${servedModelPath('tiny-vgg')}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('a served model', () => {
  it('loads with its labels and preprocessing, reporting the shards byte by byte up to their total, and computes what the files compute', async () => {
    const stages: [string, number | undefined, number | undefined][] = [];
    const { model, name } = await loadServedModel(base, { threads: 1, onProgress: (stage, done, total) => stages.push([stage, done, total]) });
    expect(name).toBe('tiny-vgg');
    expect(model.info.labels).toEqual(labels);
    expect(model.info.preprocessing?.name).toBe('keras-tf');
    const shards = stages.filter(([, done]) => done !== undefined);
    expect(shards.length).toBeGreaterThan(0);
    expect(shards.at(-1)).toEqual(['Loading tiny-vgg', files.shard.byteLength, files.shard.byteLength]);
    const local = await loadModel(join(packageDir, 'model/model.json'));
    const x = Float32Array.from({ length: 3 * 16 * 16 }, (_, i) => Math.sin(i));
    expect(await model.forward(x)).toEqual(await local.forward(x));
  });

  it('reads the prepared form where the server offers one: the same model, with the labels and preprocessing', async () => {
    const made = await prepareModel(join(packageDir, 'model/model.json'), { cacheDir: join(root, 'cache') });
    prepared = new Uint8Array(readFileSync(made.info.prepared!));
    try {
      const stages: [string, number | undefined, number | undefined][] = [];
      const { model } = await loadServedModel(base, { threads: 1, onProgress: (stage, done, total) => stages.push([stage, done, total]) });
      expect(stages.filter(([, done]) => done !== undefined).at(-1)).toEqual(['Loading tiny-vgg', prepared.byteLength, prepared.byteLength]);
      expect(model.info.preprocessing?.name).toBe('keras-tf');
      const x = Float32Array.from({ length: 3 * 16 * 16 }, (_, i) => Math.sin(i));
      const e = await model.explain(x, { threads: 1 });
      const local = await (await loadModel(join(packageDir, 'model/model.json'))).explain(x, { threads: 1 });
      expect(Buffer.from(e.relevance.buffer).equals(Buffer.from(local.relevance.buffer))).toBe(true);
    } finally {
      prepared = undefined;
    }
  });

  it('keeps a versioned prepared form in the cache it is given: read from there the next time, replaced by a new version', async () => {
    const made = await prepareModel(join(packageDir, 'model/model.json'), { cacheDir: join(root, 'cache') });
    prepared = new Uint8Array(readFileSync(made.info.prepared!));
    // The Cache API's part a load uses, over a Map (Node has no CacheStorage; Chromium's is used by spec/demo.spec.ts).
    const held = new Map<string, Response>();
    const cache = {
      match: async (url: RequestInfo | URL) => held.get(String(url))?.clone(),
      put: async (url: RequestInfo | URL, res: Response) => void held.set(String(url), new Response(await res.arrayBuffer(), { headers: res.headers })),
      keys: async () => [...held.keys()].map((u) => new Request(u)),
      delete: async (req: RequestInfo | URL) => held.delete(typeof req === 'object' && 'url' in req ? req.url : String(req)),
    } as unknown as Cache;
    const start = asked.length;
    const fetchedPrepared = () => asked.slice(start).filter((u) => u.includes('model.relprop'));
    const x = Float32Array.from({ length: 3 * 16 * 16 }, (_, i) => Math.cos(i));
    try {
      version = 'v1';
      const first = await loadServedModel(base, { threads: 1, cache });
      expect(await first.kept).toBe(true);
      expect(fetchedPrepared()).toEqual([`/${servedModelPath('tiny-vgg')}model.relprop?v=v1`]);
      const again = await loadServedModel(base, { threads: 1, cache });
      expect(await again.kept).toBe(true);
      expect(fetchedPrepared()).toHaveLength(1);
      expect(await again.model.forward(x)).toEqual(await first.model.forward(x));
      version = 'v2';
      await (await loadServedModel(base, { threads: 1, cache })).kept;
      expect(fetchedPrepared()).toHaveLength(2);
      expect([...held.keys()].map((u) => u.slice(u.indexOf('model.relprop')))).toEqual(['model.relprop?v=v2']);
      // Without a version nothing is kept: the file could change under its URL.
      version = undefined;
      const plain = await loadServedModel(base, { threads: 1, cache });
      expect(await plain.kept).toBe(false);
      expect(fetchedPrepared().at(-1)).toBe(`/${servedModelPath('tiny-vgg')}model.relprop`);
    } finally {
      prepared = undefined;
      version = undefined;
    }
  });

  it('refuses a shard longer than the manifest says, naming it', async () => {
    sizes = { ...sizes, 'model/group1-shard1of1.bin': files.shard.byteLength - 4 };
    await expect(loadServedModel(base)).rejects.toThrow(/group1-shard1of1\.bin sends more than the \d+ bytes .* expected; refused/);
  });
});
