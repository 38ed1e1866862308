import { execFile } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

export const ROOT = join(import.meta.dirname, '../..');

/** The newest modification time of the files under `dir`. */
function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

/**
 * How to start the relprop CLI: the built `dist/bin/relprop.js`, as `npx relprop` runs it, when it was
 * built after the last change to src/ (`npm test` builds first); else the sources through tsx, so a
 * `npx vitest` after an edit never tests a stale build. Node starts the build in about 0.7 s against
 * 1.4 s through tsx, and the suite starts the CLI about a hundred times.
 */
export const CLI: readonly string[] = (() => {
  const built = join(ROOT, 'dist/bin/relprop.js');
  if (existsSync(built) && statSync(built).mtimeMs >= newest(join(ROOT, 'src'))) return [built];
  return ['--import', 'tsx', join(ROOT, 'src/cli/main.ts')];
})();

/** Runs the relprop CLI (see CLI), with its exit code and output. */
export async function relprop(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [...CLI, ...args], { cwd: ROOT, maxBuffer: 1 << 24 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}
