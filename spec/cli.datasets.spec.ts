/**
 * Data sets (issues 16 and 26): `relprop explain` over folders (recursively) and glob patterns, in
 * batches, and in shards (`--shard K/N`): two shards of a 10-image folder take disjoint lists that cover
 * it and together write the same files, byte for byte, as one run of all of it; a run killed half-way
 * and restarted writes every file once (the finished ones untouched) and the same bytes as an
 * uninterrupted run; an unreadable file fails alone (exit 3) and a rerun retries only it; results of
 * other settings (target, model) are neither replaced nor skipped.
 */
import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CLI, relprop, ROOT } from './helpers/cli.js';
import { inShard } from '../src/cli/inputs.js';

const MODEL = ['--arch', 'resnet18', '--input-size', '64', '--width', '8'];
let folder: string;

/**
 * Every output file under `dir` (relative path -> SHA-256 of its bytes: equal hashes are equal bytes, and
 * comparing digests instead of megabytes of panels took the suite's deep equality from about 50 s to
 * nothing), summaries and partial files left out, and the images' records (which hold timings) as the
 * sorted record names only.
 */
function outputs(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const records: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.json')) {
        if (!e.name.startsWith('relprop-summary')) records.push(relative(dir, p));
      } else out.set(relative(dir, p), createHash('sha256').update(readFileSync(p)).digest('hex'));
    }
  };
  walk(dir);
  out.set('(records)', records.sort().join('\n'));
  return out;
}

/** The summary a run wrote into `dir` (one per settings and shard). */
function summaries(dir: string): { file: string; json: { shard?: string; explained: number; skipped: number; failed: number; images: { image: string; skipped?: boolean }[]; failures: { image: string; message: string }[] } }[] {
  return readdirSync(dir)
    .filter((f) => f.startsWith('relprop-summary.'))
    .sort()
    .map((f) => ({ file: f, json: JSON.parse(readFileSync(join(dir, f), 'utf8')) }));
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
    const [s1, s2] = summaries(shards).map((s) => s.json);
    expect(summaries(shards).map((s) => s.file)).toEqual([expect.stringMatching(/^relprop-summary\.[0-9a-f]{8}\.1-of-2\.json$/), expect.stringMatching(/^relprop-summary\.[0-9a-f]{8}\.2-of-2\.json$/)]);
    // Shard 2 ran after shard 1 into the same folder: it explained its own five and skipped none.
    expect([s1.shard, s1.explained, s1.skipped, s2.shard, s2.explained, s2.skipped]).toEqual(['1/2', 5, 0, '2/2', 5, 0]);
    // The shards' lists are disjoint and cover the input, each run on its own.
    const apart = await Promise.all(
      ['1/2', '2/2'].map(async (k) => {
        const r = await relprop('explain', folder, ...MODEL, '--out', mkdtempSync(join(tmpdir(), 'relprop-out-')), '--shard', k, '--json');
        expect(r.code, r.stderr).toBe(0);
        const j = JSON.parse(r.stdout);
        expect(j.explained).toBe(j.images.length);
        return j.images.map((i: { image: string }) => i.image) as string[];
      }),
    );
    const everything = JSON.parse((await relprop('explain', folder, ...MODEL, '--out', all, '--json')).stdout).images.map((i: { image: string }) => i.image);
    expect(apart[0].filter((f) => apart[1].includes(f))).toEqual([]);
    expect([...apart[0], ...apart[1]].sort()).toEqual([...everything].sort());
    const bad = await relprop('explain', folder, ...MODEL, '--shard', '3/2');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/--shard must be K\/N with 1 <= K <= N/);
  }, 300_000);

  it('a shard killed half-way and restarted writes every file once, the same bytes as an uninterrupted run', async () => {
    // Its own folder of 40 photos: with the shared 10, the panel worker could write all of them between
    // two polls, and the run ended before it was killed (1 CI run in 5).
    const many = mkdtempSync(join(tmpdir(), 'relprop-dataset-'));
    const photos = ['chelsea.png', 'coffee.png', 'astronaut.png', 'rocket.jpg'];
    for (let i = 0; i < 40; i++) {
      const sub = join(many, `s${i % 3}`);
      mkdirSync(sub, { recursive: true });
      copyFileSync(join(ROOT, 'examples', photos[i % 4]), join(sub, `img${i}${photos[i % 4].slice(-4)}`));
    }
    const whole = mkdtempSync(join(tmpdir(), 'relprop-out-'));
    expect((await relprop('explain', many, ...MODEL, '--out', whole, '--npy', '--shard', '1/1')).code).toBe(0);
    const out = mkdtempSync(join(tmpdir(), 'relprop-out-'));
    const args = [...CLI, 'explain', many, ...MODEL, '--out', out, '--npy', '--shard', '1/1'];
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
    const mtimes = new Map([...before.keys()].filter((f) => f !== '(records)').map((f) => [f, statSync(join(out, f)).mtimeMs]));
    const again = await relprop('explain', many, ...MODEL, '--out', out, '--npy', '--shard', '1/1', '--json');
    expect(again.code, again.stderr).toBe(0);
    const summary = JSON.parse(again.stdout);
    // Only complete images are skipped; an image killed between its two files is redone.
    expect(summary.skipped).toBeGreaterThanOrEqual(3);
    expect(summary.skipped + summary.explained).toBe(40);
    const after = outputs(out);
    // Files of killed writes never appear under their own names; the leftover partial ones are the only extra.
    const partial = [...after.keys()].filter((f) => f.includes('.partial-'));
    for (const f of partial) after.delete(f);
    expect(after).toEqual(outputs(whole));
    for (const [f, t] of mtimes) if (!f.includes('.partial-') && summary.images.find((i: { files: Record<string, string>; skipped?: boolean }) => i.skipped && Object.values(i.files).some((p) => p.endsWith(f)))) expect(statSync(join(out, f)).mtimeMs, f).toBe(t);
    expect(summaries(out).map((s) => s.json.shard)).toEqual(['1/1']);
  }, 300_000);

  it('an unreadable file in the middle fails alone: the others are explained, exit 3, and a rerun retries only it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'relprop-mixed-'));
    copyFileSync(join(ROOT, 'examples/chelsea.png'), join(dir, 'a_cat.png'));
    writeFileSync(join(dir, 'b_text.jpg'), 'not a photo\n');
    writeFileSync(join(dir, 'c_photo.webp'), Buffer.from('RIFF\0\0\0\0WEBPVP8 ', 'latin1'));
    copyFileSync(join(ROOT, 'examples/coffee.png'), join(dir, 'd_coffee.png'));
    const out = mkdtempSync(join(tmpdir(), 'relprop-out-'));
    const r = await relprop('explain', dir, ...MODEL, '--out', out, '--batch', '2');
    expect(r.code, r.stderr).toBe(3);
    expect(r.stdout).toMatch(/a_cat\.png\n[\s\S]*d_coffee\.png\n/);
    expect(r.stderr).toMatch(/relprop: failed: ".*b_text\.jpg" is not a PNG, JPEG, BMP, GIF or TIFF image: it starts with the text "not a photo\\n"/);
    expect(r.stderr).toMatch(/relprop: failed: ".*c_photo\.webp" is a WebP file, which relprop does not decode/);
    const [{ json: s }] = summaries(out);
    expect([s.explained, s.skipped, s.failed]).toEqual([2, 0, 2]);
    expect(s.failures.map((f) => f.image)).toEqual([join(dir, 'b_text.jpg'), join(dir, 'c_photo.webp')]);
    // --fail-fast stops at the first one, as before (exit 1), after the cat.
    const fast = await relprop('explain', dir, ...MODEL, '--out', mkdtempSync(join(tmpdir(), 'relprop-out-')), '--fail-fast');
    expect(fast.code).toBe(1);
    expect(fast.stderr).toMatch(/relprop: error: ".*b_text\.jpg" is not a PNG/);
    expect(fast.stdout).not.toMatch(/d_coffee/);
    // The text file mended: the rerun explains it alone; the cat and the coffee are kept from before.
    const before = outputs(out);
    copyFileSync(join(ROOT, 'examples/astronaut.png'), join(dir, 'b_text.jpg'));
    const again = await relprop('explain', dir, ...MODEL, '--out', out, '--json');
    expect(again.code, again.stderr).toBe(3);
    const j = JSON.parse(again.stdout);
    expect([j.explained, j.skipped, j.failed]).toEqual([1, 2, 1]);
    expect(j.images.filter((i: { skipped?: boolean }) => !i.skipped).map((i: { image: string }) => i.image)).toEqual([join(dir, 'b_text.jpg')]);
    const after = outputs(out);
    for (const [f, bytes] of before) if (f !== '(records)') expect(after.get(f), f).toEqual(bytes);
  }, 300_000);

  it('runs with other targets or models into one folder keep every result; a shard rerun with them does not skip', async () => {
    const out = mkdtempSync(join(tmpdir(), 'relprop-out-'));
    const one = join(folder, 'a');
    const run = async (...args: string[]) => {
      const r = await relprop('explain', one, ...args, '--out', out, '--shard', '1/1', '--json');
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout);
    };
    const cup = await run(...MODEL, '--target', 'cup');
    const mug = await run(...MODEL, '--target', 'coffee mug');
    const seeded = await run(...MODEL, '--weight-seed', '7');
    for (const j of [cup, mug, seeded]) expect([j.explained, j.skipped], j.settingsKey).toEqual([4, 0]);
    expect(new Set([cup.settingsKey, mug.settingsKey, seeded.settingsKey]).size).toBe(3);
    expect(cup.images[0].target.label).toBe('cup');
    expect(mug.images[0].target.label).toBe('coffee_mug');
    // Twelve panels, none replaced; each record names its settings; the same settings again skip all.
    const panels = readdirSync(join(out), { recursive: true }).filter((f) => String(f).endsWith('.png'));
    expect(panels).toHaveLength(12);
    const record = JSON.parse(readFileSync(cup.images[0].files.panel.replace(/\.png$/, '.json'), 'utf8'));
    expect([record.settingsKey, record.settings.target]).toEqual([cup.settingsKey, 968]);
    const again = await run(...MODEL, '--target', 'cup');
    expect([again.explained, again.skipped]).toEqual([0, 4]);
  }, 300_000);
});

describe('--shard K/N', () => {
  it('takes every N-th image from the K-th: disjoint slices that cover the list', () => {
    for (const n of [1, 2, 3, 7]) {
      const slices = Array.from({ length: n }, (_, k) => Array.from({ length: 20 }, (_, i) => i).filter((i) => inShard(i, { k: k + 1, n })));
      expect(slices.flat().sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
      for (const [k, s] of slices.entries()) expect(s, `${k + 1}/${n}`).toEqual(Array.from({ length: 20 }, (_, i) => i).filter((i) => i % n === k));
    }
  });
});
