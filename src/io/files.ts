/**
 * The files a model names beside itself (TF.js weight shards, ONNX external data), read from its
 * directory or under its URL. A model file is untrusted: what it names must stay inside its own
 * directory (no absolute paths, no "..", no links that lead out, nothing but regular files) or under
 * its own URL (same origin and path, no ".."), and no more bytes are read than the model declares, so
 * a link to /dev/zero or a server that never stops sending cannot fill memory.
 */
import { fail, RelpropError } from '../errors.js';

/** Largest model file read whole: a model.json, or an ONNX file (protobuf's own limit is 2 GiB). */
export const MAX_MODEL_FILE_BYTES = 2 * 1024 ** 3;

export interface ModelFiles {
  /** The whole file `relative` names; failing if it holds more than `limit` bytes. */
  read(relative: string, limit: number): Promise<Uint8Array>;
  /** `length` bytes at `offset` of the file (to its end without a length); synchronous (ONNX import). */
  readRangeSync?(relative: string, offset: number, length: number | undefined): Uint8Array;
}

/** Why a name a model gives for one of its files is refused, or undefined if it is a plain relative path. */
function badRelative(rel: string): string | undefined {
  if (typeof rel !== 'string' || rel.length === 0) return 'an empty name';
  if (/^[a-z][a-z0-9+.-]*:/i.test(rel) || rel.startsWith('/') || rel.startsWith('\\') || /^[a-z]:/i.test(rel)) return 'an absolute path or URL';
  if (rel.split(/[\\/]/).includes('..')) return 'a path with ".."';
  if (rel.includes('\0')) return 'a name with a NUL byte';
  return undefined;
}

function checkRelative(rel: string): void {
  const why = badRelative(rel);
  if (why) fail('BAD_MODEL', `the model names the data file "${rel}" (${why}), outside its own directory or URL; refused`);
}

const mib = (n: number) => `${(n / 1024 ** 2).toFixed(1)} MiB`;

/** Files in a directory of the file system (Node, Deno, Bun). */
export async function directoryFiles(dir: string): Promise<ModelFiles> {
  const fs = await import('node:fs');
  const path = await import('node:path');
  let root: string;
  try {
    root = fs.realpathSync(dir);
  } catch (e) {
    return fail('NOT_FOUND', `cannot read the model's directory "${dir}": ${(e as Error).message}`);
  }
  /** Opens the named file after resolving every link in its path; returns its descriptor and size. */
  const open = (rel: string): { fd: number; size: number; where: string } => {
    checkRelative(rel);
    const where = path.join(dir, rel);
    let real: string;
    try {
      real = fs.realpathSync(where);
    } catch (e) {
      return fail('NOT_FOUND', `cannot read "${where}", which the model needs: ${(e as Error).message}`);
    }
    if (path.relative(root, real).split(path.sep)[0] === '..' || path.isAbsolute(path.relative(root, real))) {
      fail('BAD_MODEL', `"${where}", which the model needs, is a link to "${real}", outside the model's directory; refused`);
    }
    const fd = fs.openSync(real, 'r');
    const st = fs.fstatSync(fd);
    if (!st.isFile()) {
      fs.closeSync(fd);
      fail('BAD_MODEL', `"${where}", which the model needs, is not a regular file; refused`);
    }
    return { fd, size: st.size, where };
  };
  const readAt = (fd: number, offset: number, length: number, where: string): Uint8Array => {
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const n = fs.readSync(fd, out, done, length - done, offset + done);
      if (n === 0) fail('BAD_MODEL', `"${where}" ended after ${done} of the ${length} bytes expected at offset ${offset}`);
      done += n;
    }
    return out;
  };
  const readRangeSync = (rel: string, offset: number, length: number | undefined): Uint8Array => {
    const { fd, size, where } = open(rel);
    try {
      const n = length ?? size - offset;
      if (!(Number.isSafeInteger(offset) && Number.isSafeInteger(n) && offset >= 0 && n >= 0 && offset + n <= size)) {
        fail('BAD_MODEL', `the model asks for ${length ?? 'the rest'} bytes at offset ${offset} of "${where}", which holds ${size}`);
      }
      return readAt(fd, offset, n, where);
    } finally {
      fs.closeSync(fd);
    }
  };
  return {
    async read(rel, limit) {
      const { fd, size, where } = open(rel);
      try {
        if (size > limit) fail('BAD_MODEL', `"${where}" holds ${size} bytes, more than the ${limit} the model declares for it`);
        return readAt(fd, 0, size, where);
      } finally {
        fs.closeSync(fd);
      }
    },
    readRangeSync,
  };
}

/**
 * The model file a user names (a link is the user's own choice and is followed): a regular file of at
 * most `limit` bytes.
 */
export async function readModelFile(file: string, limit: number): Promise<Uint8Array> {
  const fs = await import('node:fs');
  const st = fs.statSync(file);
  if (!st.isFile()) fail('BAD_MODEL', `"${file}" is not a regular file`);
  if (st.size > limit) fail('BAD_MODEL', `"${file}" is ${mib(st.size)}, more than the ${mib(limit)} a model file may be`);
  const b = fs.readFileSync(file);
  // A view over the Buffer's memory: `new Uint8Array(buffer)` would copy a model of up to 2 GiB.
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * Files a user picked together (a browser's file input, a drop), by name: what a model names must be
 * one of them, found by the name's last part (pickers give no folders); none is read twice over its size.
 */
export function pickedFiles(files: ReadonlyMap<string, Uint8Array>): ModelFiles {
  const find = (rel: string): Uint8Array => {
    checkRelative(rel);
    const base = rel.split(/[\\/]/).pop()!;
    const bytes = files.get(rel) ?? files.get(base);
    if (!bytes) return fail('NOT_FOUND', `the model names the file "${rel}", which is not among the files given (${[...files.keys()].join(', ')}); pick it too`);
    return bytes;
  };
  return {
    async read(rel, limit) {
      const bytes = find(rel);
      if (bytes.byteLength > limit) fail('BAD_MODEL', `"${rel}" holds ${bytes.byteLength} bytes, more than the ${limit} the model declares`);
      return bytes;
    },
    readRangeSync(rel, offset, length) {
      const bytes = find(rel);
      const end = length === undefined ? bytes.byteLength : offset + length;
      if (!(offset >= 0 && end <= bytes.byteLength && end >= offset)) fail('BAD_MODEL', `the model reads bytes ${offset} to ${end} of "${rel}", which holds ${bytes.byteLength}`);
      return bytes.subarray(offset, end);
    },
  };
}

/** Files under a model's URL: same origin, same directory or below it. */
export function urlFiles(modelUrl: string): ModelFiles {
  const base = new URL('.', modelUrl);
  return {
    async read(rel, limit) {
      checkRelative(rel);
      const url = new URL(rel, base);
      if (url.origin !== base.origin || !url.pathname.startsWith(base.pathname)) {
        fail('BAD_MODEL', `the model names the data file "${rel}", which resolves to ${url}, outside ${base}; refused`);
      }
      return fetchBounded(url.toString(), limit);
    },
  };
}

/**
 * GETs a URL, reading at most `limit` bytes of its body (a longer one is an error, not a download);
 * `onBytes` hears of each chunk as it arrives (a progress bar); `get` is the fetch (a cache in front of it).
 */
export async function fetchBounded(url: string, limit: number, onBytes?: (n: number) => void, get: (url: string) => Promise<Response> = fetch): Promise<Uint8Array> {
  let res: Response;
  try {
    res = await get(url);
  } catch (e) {
    return fail('FETCH_FAILED', `cannot fetch ${url}: ${(e as Error).message}`);
  }
  if (!res.ok) fail('NOT_FOUND', `fetching ${url} answered ${res.status} ${res.statusText}`);
  const declared = Number(res.headers.get('content-length') ?? NaN);
  const tooLong = () => fail('BAD_MODEL', `${url} sends more than the ${limit} bytes (${mib(limit)}) expected; refused`);
  if (declared > limit) {
    await res.body?.cancel();
    tooLong();
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = res.body?.getReader();
  try {
    while (reader) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > limit) {
        await reader.cancel();
        tooLong();
      }
      chunks.push(value);
      onBytes?.(value.byteLength);
    }
  } catch (e) {
    if (e instanceof RelpropError) throw e;
    return fail('FETCH_FAILED', `fetching ${url} broke off after ${total} bytes: ${(e as Error).message}`);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}
