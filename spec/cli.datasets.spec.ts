/**
 * Data sets (issue 16): `relprop explain` over folders (recursively) and glob patterns, in batches, and
 * in shards (`--shard K/N`): two shards of a 10-image folder together write the same files, byte for
 * byte, as one run of all of it; a shard run killed half-way and restarted writes every file once (the
 * finished ones untouched) and the same bytes as an uninterrupted run; each shard writes its summary.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { relprop, ROOT } from './helpers/cli.js';

const MODEL = ['--arch', 'resnet18', '--input-size', '64', '--width', '8'];
let folder: string;

/** Every output file under `dir` (relative path -> bytes), summaries and partial files left out. */
function outputs(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (!e.name.startsWith('relprop-summary')) out.set(relative(dir, p), readFileSync(p));
    }
  };
  walk(dir);
  return out;
}

beforeAll(() => {
  // 10 photos in nested folders, two of the same name in different folders, and a file that is no image.
  folder = mkdtempSync(join(tmpdir(), 'relprop-dataset-'));
  const photos = ['chelsea.png', 'coffee.png', 'astronaut.png', 'rocket.jpg'];
  for (let i = 0; i < 10; i++) {
    const sub = join(folder, i < 4 ? 'a' : i < 7 ? 'b/c' : 'd');
    mkdirSync(sub, { recursive: true });
    const src = photos[i % 4];
    copyFileSync(join(ROOT, 'examples', src), join(sub, i === 5 ? `chelsea${src.slice(src.lastIndexOf('.'))}` : `img${i}${src.slice(src.lastIndexOf('.'))}`));
  }
  copyFileSync(join(ROOT, 'examples', 'CREDITS.md'), join(folder, 'a', 'CREDITS.md'));
});

describe('relprop explain over a data set', () => {
  it('a folder is searched recursively, a glob pattern expanded; batches give the same files as one image at a time', async () => {
    const one = mkdtempSync(join(tmpdir(), 'relprop-out-'));
    const r = await relprop('explain', folder, ...MODEL, '--out', one, '--npy', '--json');
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.images).toHaveLength(10);
    expect(j.explained).toBe(10);
    const batched = mkdtempSync(join(tmpdir(), 'relprop-out-'));
    expect((await relprop('explain', folder, ...MODEL, '--out', batched, '--npy', '--batch', '4')).code).toBe(0);
    expect(outputs(batched)).toEqual(outputs(one));
    const globbed = await relprop('explain', `${folder}/**/*.jpg`, ...MODEL, '--out', mkdtempSync(join(tmpdir(), 'relprop-out-')), '--json');
    expect(JSON.parse(globbed.stdout).images.map((i: { image: string }) => i.image.slice(folder.length))).toEqual(['/a/img3.jpg', '/d/img7.jpg']);
    const none = await relprop('explain', `${folder}/**/*.webp`, ...MODEL);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/no images match ".*\*\*\/\*\.webp"/);
  }, 300_000);

  it('two shards write, between them, the files one run of all writes, byte for byte; each writes its summary', async () => {
    const all = mkdtempSync(join(tmpdir(), 'relprop-out-'));
    expect((await relprop('explain', folder, ...MODEL, '--out', all, '--npy')).code).toBe(0);
    const shards = mkdtempSync(join(tmpdir(), 'relprop-out-'));
    for (const k of ['1/2', '2/2']) expect((await relprop('explain', folder, ...MODEL, '--out', shards, '--npy', '--shard', k, '--batch', '3')).code).toBe(0);
    expect(outputs(shards)).toEqual(outputs(all));
    const s1 = JSON.parse(readFileSync(join(shards, 'relprop-summary-1-of-2.json'), 'utf8'));
    const s2 = JSON.parse(readFileSync(join(shards, 'relprop-summary-2-of-2.json'), 'utf8'));
    expect([s1.shard, s1.explained, s2.shard, s2.explained]).toEqual(['1/2', 5, '2/2', 5]);
    const bad = await relprop('explain', folder, ...MODEL, '--shard', '3/2');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/--shard must be K\/N with 1 <= K <= N/);
  }, 300_000);

  it('a shard killed half-way and restarted writes every file once, the same bytes as an uninterrupted run', async () => {
    const whole = mkdtempSync(join(tmpdir(), 'relprop-out-'));
    expect((await relprop('explain', folder, ...MODEL, '--out', whole, '--npy', '--shard', '1/1')).code).toBe(0);
    const out = mkdtempSync(join(tmpdir(), 'relprop-out-'));
    const args = ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), 'explain', folder, ...MODEL, '--out', out, '--npy', '--shard', '1/1'];
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: 'ignore' });
    // Names only (a partial file may be renamed between listing and reading it).
    const panels = () => readdirSync(out, { recursive: true }).filter((f) => String(f).endsWith('.png')).length;
    await new Promise<void>((resolve, reject) => {
      const poll = setInterval(() => {
        if (panels() >= 4) {
          clearInterval(poll);
          child.kill('SIGKILL');
          resolve();
        }
      }, 5);
      child.once('exit', () => {
        clearInterval(poll);
        reject(new Error('the run ended before it could be killed half-way'));
      });
    });
    await new Promise((r) => child.once('exit', r));
    const before = outputs(out);
    expect(before.size).toBeLessThan(outputs(whole).size);
    const mtimes = new Map([...before.keys()].map((f) => [f, statSync(join(out, f)).mtimeMs]));
    const again = await relprop('explain', folder, ...MODEL, '--out', out, '--npy', '--shard', '1/1', '--json');
    expect(again.code, again.stderr).toBe(0);
    const summary = JSON.parse(again.stdout);
    // Only complete images are skipped; an image killed between its two files is redone.
    expect(summary.skipped).toBeGreaterThanOrEqual(3);
    expect(summary.skipped + summary.explained).toBe(10);
    const after = outputs(out);
    // Files of killed writes never appear under their own names; the leftover partial ones are the only extra.
    const partial = [...after.keys()].filter((f) => f.includes('.partial-'));
    for (const f of partial) after.delete(f);
    expect(after).toEqual(outputs(whole));
    for (const [f, t] of mtimes) if (!f.includes('.partial-') && summary.images.find((i: { files: Record<string, string>; skipped?: boolean }) => i.skipped && Object.values(i.files).some((p) => p.endsWith(f)))) expect(statSync(join(out, f)).mtimeMs, f).toBe(t);
    expect(existsSync(join(out, 'relprop-summary-1-of-1.json'))).toBe(true);
  }, 300_000);
});
