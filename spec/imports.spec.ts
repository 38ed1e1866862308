/**
 * The source's structure (issue 27): no import circle anywhere in src/ (type-only imports count: they
 * tie the files' meanings together as much as value imports do), and the op registry on the ground
 * floor: src/graph/node.ts imports nothing, and the op modules import only the ground floor, the rules'
 * types, reference kernels and the wasm kernels' codes and memory types, never the graph, the engines
 * or anything above them. Checked by dpdm (a maintained dependency parser) from the public entry points.
 */
import { relative } from 'node:path';
import { parseCircular, parseDependencyTree, type DependencyTree } from 'dpdm';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = new URL('..', import.meta.url).pathname;
const ENTRIES = ['src/index.ts', 'src/app/index.ts', 'src/cli/main.ts', 'web/worker.ts', 'web/app.ts', 'web/sw.ts'];

let tree: DependencyTree;
beforeAll(async () => {
  tree = await parseDependencyTree(ENTRIES, { cwd: ROOT, context: ROOT, tsconfig: `${ROOT}tsconfig.json`, transform: false, skipDynamicImports: false });
}, 60_000);

/** What a source file imports (repo-relative paths; packages left out). */
const importsOf = (file: string) => (tree[file] ?? []).map((d) => d.id).filter((id): id is string => !!id && !id.includes('node_modules')).map((id) => relative(ROOT, id));

describe('the import graph', () => {
  it('reaches every source file from the entry points (so the checks below see them all)', () => {
    const files = Object.keys(tree).filter((f) => f.startsWith('src/'));
    expect(files.length).toBeGreaterThan(100);
    expect(files).toContain('src/ops/conv2d.ts');
    expect(files).toContain('src/graph/node.ts');
  });

  it('has no circle, type-only imports included', () => {
    const circles = parseCircular(tree).map((c) => c.join(' -> '));
    expect(circles).toEqual([]);
  });

  it('has the ground floor import nothing, and the op modules nothing above it', () => {
    expect(importsOf('src/graph/node.ts')).toEqual([]);
    const allowed = /^src\/(ops\/|graph\/node\.ts|errors\.ts|rules\/(types|transform|stabilizer)\.ts|reference\/(kernels\/|weights\.ts)|wasm\/(codes|arena|load|constants\.generated|kernels\.generated|module\.generated)\.ts)/;
    const ops = Object.keys(tree).filter((f) => f.startsWith('src/ops/'));
    expect(ops.length).toBeGreaterThan(20);
    const above = ops.flatMap((f) => importsOf(f).filter((d) => !allowed.test(d)).map((d) => `${f} -> ${d}`));
    expect(above).toEqual([]);
    // The reference kernels take plain parameters, not node types.
    const kernels = Object.keys(tree).filter((f) => f.startsWith('src/reference/kernels/'));
    expect(kernels.flatMap((f) => importsOf(f).filter((d) => d !== 'src/graph/node.ts' && !d.startsWith('src/reference/kernels/')).map((d) => `${f} -> ${d}`))).toEqual([]);
  });
});
