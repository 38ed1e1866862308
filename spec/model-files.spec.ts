/**
 * What a model file names beside itself is untrusted: shards and external data must stay inside the
 * model's directory (or under its URL), be regular files, and are never read past the bytes the model
 * declares. Each hostile layout ends in a clear BAD_MODEL error before any large read; the URL cases
 * run against a server on 127.0.0.1 that records what it was asked for.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel, loadModelFiles, RelpropError } from '../src/index.js';
import { layersModelJson } from './helpers/keras-json.js';

const FIXTURES = join(import.meta.dirname, 'fixtures/onnx');
const root = mkdtempSync(join(tmpdir(), 'relprop-files-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A one-layer TF.js model (Dense 4 -> 2 after a GAP over 2x2x4) with its weights in two shards. */
function kerasModel(paths = ['a.bin', 'b.bin']): string {
  return layersModelJson(
    [
      { name: 'in', class_name: 'InputLayer', config: { batch_input_shape: [null, 2, 2, 4] }, inbound_nodes: [] },
      { name: 'g', class_name: 'GlobalAveragePooling2D', config: {}, inbound_nodes: [[['in', 0, 0, {}]]] },
      { name: 'fc', class_name: 'Dense', config: { units: 2, activation: 'linear' }, inbound_nodes: [[['g', 0, 0, {}]]] },
    ],
    [{ paths, weights: [{ name: 'fc/kernel', shape: [4, 2], dtype: 'float32' }, { name: 'fc/bias', shape: [2], dtype: 'float32' }] }],
  );
}
const SHARD_A = new Uint8Array(new Float32Array(8).fill(0.5).buffer);
const SHARD_B = new Uint8Array(new Float32Array(2).fill(0.25).buffer);

/** A directory holding the Keras model, with `layout` changing its shards. */
function kerasDir(name: string, layout: (dir: string) => void = () => {}, paths?: string[]): string {
  const dir = join(root, name);
  mkdirSync(dir);
  writeFileSync(join(dir, 'model.json'), kerasModel(paths));
  writeFileSync(join(dir, 'a.bin'), SHARD_A);
  writeFileSync(join(dir, 'b.bin'), SHARD_B);
  layout(dir);
  return join(dir, 'model.json');
}

async function refused(p: Promise<unknown>, message: RegExp): Promise<void> {
  const error = await p.then(() => undefined, (e: unknown) => e);
  expect(error, 'expected an error').toBeInstanceOf(RelpropError);
  expect((error as RelpropError).code).toBe('BAD_MODEL');
  expect((error as Error).message).toMatch(message);
}

const relink = (dir: string, name: string, target: string) => {
  rmSync(join(dir, name));
  symlinkSync(target, join(dir, name));
};

describe('files beside a model on disk', () => {
  it('the plain layout loads, and a link to another file inside the directory is followed', async () => {
    const model = await loadModel(kerasDir('plain'));
    expect(Array.from(await model.forward(new Float32Array(16).fill(1)))).toEqual([2.25, 2.25]);
    await loadModel(kerasDir('inner-link', (d) => (copyFileSync(join(d, 'b.bin'), join(d, 'b.real')), relink(d, 'b.bin', 'b.real'))));
  });
  it('a shard that links out of the directory is refused (to /etc/passwd, to /dev/zero)', async () => {
    await refused(loadModel(kerasDir('passwd', (d) => relink(d, 'a.bin', '/etc/passwd'))), /a\.bin", which the model needs, is a link to "\/etc\/passwd", outside the model's directory; refused/);
    await refused(loadModel(kerasDir('zero', (d) => relink(d, 'b.bin', '/dev/zero'))), /is a link to "\/dev\/zero", outside/);
  });
  it('a shard that is not a regular file is refused', async () => {
    await refused(loadModel(kerasDir('dir', (d) => (rmSync(join(d, 'a.bin')), mkdirSync(join(d, 'a.bin'))))), /a\.bin", which the model needs, is not a regular file/);
  });
  it('a shard longer than the weights it holds is refused without reading it', async () => {
    await refused(loadModel(kerasDir('long', (d) => writeFileSync(join(d, 'a.bin'), new Uint8Array(1 << 20)))), /a\.bin" holds 1048576 bytes, more than the 40 the model declares for it/);
  });
  it('shard names that are absolute, climb out or name another host are refused', async () => {
    for (const bad of ['/etc/passwd', '../plain/a.bin', 'x/../../a.bin', 'http://127.0.0.1:1/a.bin', 'file:///etc/passwd', '']) {
      await refused(loadModel(kerasDir(`name-${Math.random().toString(36).slice(2)}`, () => {}, [bad, 'b.bin'])), /outside its own directory or URL; refused/);
    }
  });
  it('ONNX external data that links out, or is not a regular file, is refused; only the declared range is read', async () => {
    const dir = (name: string, data: (d: string) => void) => {
      const d = join(root, name);
      mkdirSync(d);
      copyFileSync(join(FIXTURES, 'vgg_bn.onnx'), join(d, 'vgg_bn.onnx'));
      data(d);
      return join(d, 'vgg_bn.onnx');
    };
    await loadModel(dir('onnx-plain', (d) => copyFileSync(join(FIXTURES, 'vgg_bn.onnx.data'), join(d, 'vgg_bn.onnx.data'))));
    await refused(loadModel(dir('onnx-passwd', (d) => symlinkSync('/etc/passwd', join(d, 'vgg_bn.onnx.data')))), /is a link to "\/etc\/passwd", outside the model's directory/);
    await refused(loadModel(dir('onnx-zero', (d) => symlinkSync('/dev/zero', join(d, 'vgg_bn.onnx.data')))), /is a link to "\/dev\/zero", outside/);
    await refused(loadModel(dir('onnx-dir', (d) => mkdirSync(join(d, 'vgg_bn.onnx.data')))), /is not a regular file/);
    await refused(loadModel(dir('onnx-short', (d) => writeFileSync(join(d, 'vgg_bn.onnx.data'), new Uint8Array(100)))), /asks for \d+ bytes at offset \d+ of ".*vgg_bn\.onnx\.data", which holds 100/);
  });
  it('the model file itself must be a regular file', async () => {
    await refused(loadModel('/dev/zero'), /"\/dev\/zero" is not a regular file/);
  });
});

describe('files under a model URL', () => {
  let server: Server;
  let base: string;
  const asked: string[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      asked.push(req.url ?? '');
      const files: Record<string, () => void> = {
        '/m/model.json': () => res.end(kerasModel()),
        '/m/a.bin': () => res.end(SHARD_A),
        '/m/b.bin': () => res.end(SHARD_B),
        '/bad/model.json': () => res.end(kerasModel(['../m/a.bin', 'b.bin'])),
        '/far/model.json': () => res.end(kerasModel([`http://localhost:${port()}/m/a.bin`, 'b.bin'])),
        '/rooted/model.json': () => res.end(kerasModel(['/m/a.bin', 'b.bin'])),
        '/endless/model.json': () => res.end(kerasModel()),
        '/w/resnet18.pth': () => res.end(readFileSync(join(import.meta.dirname, 'fixtures/torch/resnet18.pth'))),
        // A shard that never ends: chunks until the client hangs up.
        '/endless/a.bin': () => {
          const chunk = Buffer.alloc(65536);
          const pump = () => {
            while (!res.destroyed && res.write(chunk));
            if (!res.destroyed) res.once('drain', pump);
          };
          res.on('close', () => res.destroy());
          pump();
        },
      };
      (files[(req.url ?? '').split('?')[0]] ?? (() => ((res.statusCode = 404), res.end())))();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${port()}`;
  });
  const port = () => (server.address() as { port: number }).port;
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('a model.json and its shards load from a URL', async () => {
    const model = await loadModel(`${base}/m/model.json`);
    expect(Array.from(await model.forward(new Float32Array(16).fill(1)))).toEqual([2.25, 2.25]);
  });
  it('a state dict loads from a URL, into the architecture given', async () => {
    const model = await loadModel(`${base}/w/resnet18.pth?download=1`, { arch: 'resnet18', inputShape: [3, 64, 64] });
    expect(model.info.origin).toBe('torchvision');
    expect(model.numClasses).toBe(10);
  });
  it('shards named with "..", another host or an absolute path are refused before any request for them', async () => {
    asked.length = 0;
    await refused(loadModel(`${base}/bad/model.json`), /names the data file "\.\.\/m\/a\.bin" \(a path with "\.\."\)/);
    await refused(loadModel(`${base}/far/model.json`), /an absolute path or URL/);
    await refused(loadModel(`${base}/rooted/model.json`), /an absolute path or URL/);
    expect(asked).toEqual(['/bad/model.json', '/far/model.json', '/rooted/model.json']);
  });
  it('a shard that never ends is cut off at the bytes the model declares', async () => {
    const rss = process.memoryUsage().rss;
    await refused(loadModel(`${base}/endless/model.json`), /\/endless\/a\.bin sends more than the 40 bytes/);
    expect(process.memoryUsage().rss - rss).toBeLessThan(64 * 1024 ** 2);
  });
});

describe('files a user picked (loadModelFiles: a browser file input)', () => {
  const picked = (entries: [string, Uint8Array | string][]) => new Map(entries.map(([n, b]) => [n, typeof b === 'string' ? new TextEncoder().encode(b) : b]));
  const error = async (p: Promise<unknown>) => (await p.then(() => undefined, (e: unknown) => e)) as RelpropError;

  it('finds the model among them and reads its shards by name; the result equals loading from disk', async () => {
    const files = picked([['a.bin', SHARD_A], ['model.json', kerasModel()], ['b.bin', SHARD_B]]);
    const model = await loadModelFiles(files);
    expect(Array.from(await model.forward(new Float32Array(16).fill(1)))).toEqual([2.25, 2.25]);
    // Pickers give no folders: a shard named with one is found by its last part.
    const nested = await loadModelFiles(picked([['model.json', kerasModel(['w/a.bin', 'w/b.bin'])], ['a.bin', SHARD_A], ['b.bin', SHARD_B]]));
    expect(Array.from(await nested.forward(new Float32Array(16).fill(1)))).toEqual([2.25, 2.25]);
    const onnx = readFileSync(join(FIXTURES, 'resnet_basic.onnx'));
    const fromFiles = await loadModelFiles(picked([['resnet_basic.onnx', onnx]]));
    const fromBytes = await loadModel(onnx);
    const x = Float32Array.from({ length: fromBytes.inputShape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i));
    expect(await fromFiles.forward(x)).toEqual(await fromBytes.forward(x));
  });

  it('a weights file with its architecture, as loadModel reads it from disk', async () => {
    const file = join(import.meta.dirname, 'fixtures/torch/mobilenet_v2.safetensors');
    const options = { arch: 'mobilenet_v2', inputShape: [3, 64, 64] as const };
    const picked = await loadModelFiles(new Map([['mobilenet_v2.safetensors', readFileSync(file)]]), options);
    const disk = await loadModel(file, options);
    const x = Float32Array.from({ length: 3 * 64 * 64 }, (_, i) => Math.cos(i * 0.1));
    expect(await picked.forward(x)).toEqual(await disk.forward(x));
    expect(picked.info.origin).toBe(disk.info.origin);
    const noArch = await error(loadModelFiles(new Map([['mobilenet_v2.safetensors', readFileSync(file)]])));
    expect(noArch.message).toMatch(/holds weights only: pass arch/);
  });

  it('a missing shard, a shard outside, no model, two models and a broken file are errors naming the file', async () => {
    const missing = await error(loadModelFiles(picked([['model.json', kerasModel()], ['a.bin', SHARD_A]])));
    expect(missing.code).toBe('NOT_FOUND');
    expect(missing.message).toMatch(/"b\.bin", which is not among the files given \(model\.json, a\.bin\); pick it too/);
    const outside = await error(loadModelFiles(picked([['model.json', kerasModel(['../a.bin', 'b.bin'])], ['a.bin', SHARD_A], ['b.bin', SHARD_B]])));
    expect(outside.message).toMatch(/"\.\.\/a\.bin" \(a path with "\.\."\)/);
    // A lone shard of a model.json (TF.js names them group1-shard1of2.bin) is no model; a lone .bin would be read as torch's.
    expect((await error(loadModelFiles(picked([['group1-shard1of2.bin', SHARD_A], ['notes.txt', 'hi']])))).message).toMatch(/none of the files given \(group1-shard1of2\.bin, notes\.txt\) is a model/);
    expect((await error(loadModelFiles(picked([['x.onnx', 'a'], ['y.onnx', 'b']])))).message).toMatch(/hold 2 models \(x\.onnx, y\.onnx\)/);
    const broken = await error(loadModelFiles(picked([['broken.onnx', 'not a model']])));
    expect(broken.code).toBe('BAD_MODEL');
    expect(broken.message).toMatch(/^"broken\.onnx": /);
    const long = await error(loadModelFiles(picked([['model.json', kerasModel()], ['a.bin', new Uint8Array(64)], ['b.bin', SHARD_B]])));
    expect(long.message).toMatch(/a\.bin/);
  });
});
