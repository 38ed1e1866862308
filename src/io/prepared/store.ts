/**
 * Where prepared models live and when one may be used (Node, Deno, Bun): one file per source and
 * graph-changing options, `<cache>/prepared/<key>.relprop`. One is used only if this build made it
 * and every source file is as it was: the same size, and the same modification time or else the same
 * SHA-256 (so a copied or touched file costs a hash, and a changed one makes it stale). A file of the
 * same size changed in place with its time kept back is not noticed (`relprop models --verify` hashes
 * a known model's files).
 */
import { BUILD_ID } from '../../build-id.generated.js';
import { RelpropError } from '../../errors.js';
import { sha256 } from '../registry/cache.js';
import { decodePrepared, encodePrepared, readPreparedHeader, type Prepared, type PreparedHeader, type PreparedSource } from './format.js';

/** The identity of a prepared model: what it is made from, and the options that shape its graph. */
export interface PreparedKey {
  from: string;
  inputShape?: readonly number[];
}

export async function preparedPath(root: string, key: PreparedKey): Promise<string> {
  const { createHash } = await import('node:crypto');
  const path = await import('node:path');
  const hash = createHash('sha256').update(JSON.stringify([key.from, key.inputShape ?? null])).digest('hex').slice(0, 32);
  return path.join(root, 'prepared', `${hash}.relprop`);
}

/** The source files as they are now, hashed (unless `known` holds a file's hash already). */
export async function describeFiles(files: readonly string[], known: ReadonlyMap<string, string> = new Map()): Promise<PreparedSource['files']> {
  const fs = await import('node:fs');
  const out: PreparedSource['files'] = [];
  for (const path of files) {
    const st = fs.statSync(path);
    out.push({ path, size: st.size, mtimeMs: st.mtimeMs, sha256: known.get(path) ?? (await sha256(path)) });
  }
  return out;
}

/** Whether the header's source is this key's, made by this build, its files unchanged. */
async function fresh(header: PreparedHeader, key: PreparedKey): Promise<boolean> {
  const fs = await import('node:fs');
  const s = header.source;
  if (s?.relprop !== BUILD_ID || s.from !== key.from || JSON.stringify(s.inputShape ?? null) !== JSON.stringify(key.inputShape ?? null) || !Array.isArray(s.files)) return false;
  for (const f of s.files) {
    let st: import('node:fs').Stats;
    try {
      st = fs.statSync(f.path);
    } catch {
      return false;
    }
    if (st.size !== f.size) return false;
    if (st.mtimeMs !== f.mtimeMs && (await sha256(f.path)) !== f.sha256) return false;
  }
  return true;
}

/**
 * The prepared model at `file` if it is there and fresh for `key`, else undefined. A damaged one is
 * refused (BAD_MODEL, naming the file and the fix) rather than passed over: the caller loads the
 * source then and makes it again.
 */
export async function readPrepared(file: string, key: PreparedKey): Promise<Prepared | undefined> {
  const fs = await import('node:fs');
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return undefined;
  }
  try {
    const where = `the prepared model ${file}`;
    const size = fs.fstatSync(fd).size;
    const prologue = new Uint8Array(16);
    fs.readSync(fd, prologue, 0, 16, 0);
    const headerBytes = Math.min(size, 16 + new DataView(prologue.buffer).getUint32(12, true));
    const head = new Uint8Array(headerBytes);
    fs.readSync(fd, head, 0, headerBytes, 0);
    if (!(await fresh(readPreparedHeader(head, where), key))) return undefined;
    const bytes = new Uint8Array(size);
    let at = 0;
    while (at < size) {
      const n = fs.readSync(fd, bytes, at, size - at, at);
      if (n === 0) break;
      at += n;
    }
    return decodePrepared(bytes.subarray(0, at), where);
  } finally {
    fs.closeSync(fd);
  }
}

/** Writes a prepared model (whole or not at all: a temporary file renamed into place). */
export async function writePrepared(file: string, prepared: Uint8Array): Promise<void> {
  const fs = await import('node:fs');
  const path = await import('node:path');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  try {
    fs.writeFileSync(tmp, prepared);
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw new RelpropError('BAD_OPTION', `cannot write the prepared model ${file}: ${(e as Error).message}`);
  }
}

export { encodePrepared };
