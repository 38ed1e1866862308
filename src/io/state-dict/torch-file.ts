/**
 * PyTorch's torch.save files (.pth, .pt, .bin) and pickled numpy dicts (Paddle's .pdparams), read into
 * a name -> tensor table:
 * - zip (PyTorch >= 1.6): `<root>/data.pkl` names storages by key, whose bytes are `<root>/data/<key>`;
 * - legacy (`_use_new_zipfile_serialization=False`): five pickles back to back (magic number, protocol,
 *   system info, the object, the storage keys), then each storage as an int64 element count and its bytes;
 * - a plain pickle of numpy arrays (paddle.save, pickle.dump).
 * Entries, storages and views are checked against the file before anything is allocated.
 */
import { unzipSync } from 'fflate';
import { fail } from '../../errors.js';
import { checkFinite, decodeFloats, elementCount, type FloatType } from '../tensor.js';
import { NdArray, StorageRef, storageTypeOf, TensorRef, unpickle } from './pickle.js';
import type { Tensors } from './tensors.js';

/** A legacy file's first pickle: torch.serialization's magic number 0x1950a86a20f9469cfc6c (protocol 2). */
const LEGACY_MAGIC = [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e];

const isZip = (b: Uint8Array) => b[0] === 0x50 && b[1] === 0x4b && b[2] === 0x03 && b[3] === 0x04;

export function readTorchFile(bytes: Uint8Array, where: string): Tensors {
  if (isZip(bytes)) return readZip(bytes, where);
  if (LEGACY_MAGIC.every((b, i) => bytes[i] === b)) return readLegacy(bytes, LEGACY_MAGIC.length, where);
  const first = unpickle(bytes, where);
  if (first.end !== bytes.byteLength) fail('BAD_MODEL', `${where}: ${bytes.byteLength - first.end} bytes after the pickle`);
  return tensorsOf(first.value, where, () => fail('BAD_MODEL', `${where}: a plain pickle cannot hold torch storages`));
}

function readZip(bytes: Uint8Array, where: string): Tensors {
  let entries: Record<string, Uint8Array>;
  const refused: string[] = [];
  try {
    entries = unzipSync(bytes, {
      // PyTorch stores entries uncompressed; a compressed one is refused before it is inflated (no
      // zip bomb), and a stored one must fit in the file.
      filter: (f) => {
        if (f.compression !== 0 || f.originalSize !== f.size || f.size > bytes.byteLength) refused.push(`${f.name} (method ${f.compression}, ${f.size} -> ${f.originalSize} bytes)`);
        return refused.length === 0;
      },
    });
  } catch (e) {
    return fail('BAD_MODEL', `${where}: not a readable zip archive (${(e as Error).message})`);
  }
  if (refused.length) fail('BAD_MODEL', `${where}: entry ${refused[0]} is compressed or larger than the file; PyTorch's archives store entries as they are`);
  const pkl = Object.keys(entries).find((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (!pkl) fail('BAD_MODEL', `${where}: a zip archive without <name>/data.pkl is not a torch.save file`);
  const root = pkl.slice(0, -'data.pkl'.length);
  const order = entries[`${root}byteorder`];
  const bigEndian = order !== undefined && new TextDecoder().decode(order) === 'big';
  const storages = new Map<string, StorageRef>();
  const { value } = unpickle(entries[pkl], `${where} (${pkl})`, {
    persistentLoad: (pid) => {
      if (!Array.isArray(pid) || pid[0] !== 'storage' || pid.length < 5) fail('BAD_MODEL', `${where}: an unknown persistent id in ${pkl}`);
      const type = storageTypeOf(pid[1]);
      const key = String(pid[2]);
      if (!type) fail('BAD_MODEL', `${where}: storage ${key} has no storage type`);
      const numel = sizeOf(pid[4], `${where}: storage ${key}'s size`);
      const ref = storages.get(key) ?? new StorageRef(type, key, numel);
      storages.set(key, ref);
      return ref;
    },
  });
  return tensorsOf(value, where, (s) => {
    const data = entries[`${root}data/${s.key}`];
    if (!data) return fail('BAD_MODEL', `${where}: storage ${s.key} has no entry ${root}data/${s.key}`);
    return { data, bigEndian };
  });
}

function readLegacy(bytes: Uint8Array, at: number, where: string): Tensors {
  const protocol = unpickle(bytes, where, { at });
  const sysInfo = unpickle(bytes, where, { at: protocol.end });
  const info = sysInfo.value instanceof Map ? sysInfo.value : new Map();
  const storages = new Map<string, StorageRef>();
  const main = unpickle(bytes, where, {
    at: sysInfo.end,
    persistentLoad: (pid) => {
      // ('storage', type, key, location, size, view_metadata): views of a storage are refused.
      if (!Array.isArray(pid) || pid[0] !== 'storage' || pid.length < 6) fail('BAD_MODEL', `${where}: an unknown persistent id`);
      const type = storageTypeOf(pid[1]);
      const key = String(pid[2]);
      if (!type) fail('BAD_MODEL', `${where}: storage ${key} has no storage type`);
      if (pid[5] !== null) fail('UNSUPPORTED', `${where}: storage ${key} is a view of another storage (a pre-1.0 file); re-save it with a current PyTorch`);
      const ref = storages.get(key) ?? new StorageRef(type, key, sizeOf(pid[4], `${where}: storage ${key}'s size`));
      storages.set(key, ref);
      return ref;
    },
  });
  const keys = unpickle(bytes, where, { at: main.end });
  if (!Array.isArray(keys.value) || !keys.value.every((k) => typeof k === 'string')) fail('BAD_MODEL', `${where}: the storage key list is not a list of strings`);
  const bigEndian = info.get('little_endian') === false;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const blobs = new Map<string, Uint8Array>();
  let pos = keys.end;
  for (const key of keys.value as string[]) {
    const ref = storages.get(key);
    if (!ref) fail('BAD_MODEL', `${where}: storage key ${key} is listed but no tensor uses it`);
    if (pos + 8 > bytes.byteLength) fail('BAD_MODEL', `${where}: the file ends before storage ${key}`);
    const n = sizeOf(view.getBigInt64(pos, !bigEndian), `${where}: storage ${key}'s element count`);
    const length = n * ref.type.bytes;
    if (n !== ref.numel || pos + 8 + length > bytes.byteLength) fail('BAD_MODEL', `${where}: storage ${key} declares ${n} elements (${ref.numel} in its id) where ${bytes.byteLength - pos - 8} bytes remain`);
    blobs.set(key, bytes.subarray(pos + 8, pos + 8 + length));
    pos += 8 + length;
  }
  if (pos !== bytes.byteLength) fail('BAD_MODEL', `${where}: ${bytes.byteLength - pos} bytes after the last storage`);
  return tensorsOf(main.value, where, (s) => {
    const data = blobs.get(s.key);
    if (!data) return fail('BAD_MODEL', `${where}: storage ${s.key} is not in the file's storage list`);
    return { data, bigEndian };
  });
}

function sizeOf(v: unknown, what: string): number {
  const n = typeof v === 'bigint' ? Number(v) : v;
  if (!Number.isSafeInteger(n) || (n as number) < 0) fail('BAD_MODEL', `${what} is ${String(v)}`);
  return n as number;
}

type StorageBytes = (s: StorageRef) => { data: Uint8Array; bigEndian: boolean };

/** Where a checkpoint keeps its state dict: at the top, or under one of these keys. */
const NESTING = ['state_dict', 'model', 'model_state_dict'];

/** The name -> float tensor table of an unpickled state dict; integers and non-tensor entries are skipped. */
function tensorsOf(value: unknown, where: string, bytesOf: StorageBytes): Tensors {
  if (!(value instanceof Map)) fail('BAD_MODEL', `${where} holds a ${Array.isArray(value) ? 'list' : typeof value}, not a dict of tensors`);
  const hasTensors = (m: Map<unknown, unknown>) => [...m.values()].some((v) => v instanceof TensorRef || v instanceof NdArray);
  let dict = value as Map<unknown, unknown>;
  let at = where;
  if (!hasTensors(dict)) {
    const key = NESTING.find((k) => dict.get(k) instanceof Map && hasTensors(dict.get(k) as Map<unknown, unknown>));
    if (!key) fail('BAD_MODEL', `${where} holds no tensors at its top level or under ${NESTING.map((k) => `"${k}"`).join(', ')} (its keys: ${[...dict.keys()].slice(0, 6).map(String).join(', ')})`);
    dict = dict.get(key) as Map<unknown, unknown>;
    at = `${where}["${key}"]`;
  }
  const out: Tensors = new Map();
  for (const [name, v] of dict) {
    if (typeof name !== 'string') continue;
    const w = `${at}: tensor "${name}"`;
    if (v instanceof TensorRef) {
      const t = fromTorch(v, w, bytesOf);
      if (t) out.set(name, t);
    } else if (v instanceof NdArray) {
      const t = fromNumpy(v, w);
      if (t) out.set(name, t);
    }
  }
  return out;
}

/** A strided view of a storage, gathered into a dense float32 tensor; every index is checked first. */
function fromTorch(t: TensorRef, where: string, bytesOf: StorageBytes): { shape: number[]; data: Float32Array } | undefined {
  if (t.storage.type.type === 'int') return undefined;
  if (t.shape.length !== t.stride.length) fail('BAD_MODEL', `${where}: size [${t.shape}] and stride [${t.stride}] differ in rank`);
  const n = elementCount(t.shape, where);
  // A view with more elements than its storage repeats them (stride 0): no state dict holds one, and
  // refusing it keeps a forged size from allocating more than the file holds.
  if (n > t.storage.numel) fail('BAD_MODEL', `${where}: a view of ${n} elements of a ${t.storage.numel}-element storage`);
  const last = n === 0 ? t.offset : t.offset + t.shape.reduce((s, d, i) => s + (d - 1) * t.stride[i], 0);
  if (n > 0 && last >= t.storage.numel) fail('BAD_MODEL', `${where}: the view reaches element ${last} of a ${t.storage.numel}-element storage`);
  const { data, bigEndian } = bytesOf(t.storage);
  if (data.byteLength !== t.storage.numel * t.storage.type.bytes) fail('BAD_MODEL', `${where}: storage ${t.storage.key} holds ${data.byteLength} bytes, ${t.storage.numel} elements of ${t.storage.type.bytes} declared`);
  const type = t.storage.type.type as FloatType;
  const contiguous = t.stride.every((s, i) => t.shape[i] === 1 || s === t.shape.slice(i + 1).reduce((a, b) => a * b, 1));
  const w = t.storage.type.bytes;
  if (contiguous) return { shape: t.shape, data: checkFinite(decodeFloats(data.subarray(t.offset * w, (t.offset + n) * w), type, n, bigEndian), where) };
  const all = decodeFloats(data, type, t.storage.numel, bigEndian);
  const out = new Float32Array(n);
  const index = new Array<number>(t.shape.length).fill(0);
  for (let i = 0; i < n; i++) {
    out[i] = all[t.offset + index.reduce((s, k, d) => s + k * t.stride[d], 0)];
    for (let d = index.length - 1; d >= 0 && ++index[d] === t.shape[d]; d--) index[d] = 0;
  }
  return { shape: t.shape, data: checkFinite(out, where) };
}

const NUMPY_FLOATS: Record<string, FloatType> = { f4: 'F32', f8: 'F64', f2: 'F16' };

function fromNumpy(a: NdArray, where: string): { shape: number[]; data: Float32Array } | undefined {
  if (!a.dtype || !a.bytes) fail('BAD_MODEL', `${where}: a numpy array without its state`);
  const type = NUMPY_FLOATS[a.dtype.code];
  if (!type) {
    if (/^[iub]\d$|^\?$/.test(a.dtype.code)) return undefined;
    fail('UNSUPPORTED', `${where} has numpy dtype ${a.dtype.code}; relprop reads float16, float32 and float64 weights`);
  }
  const n = elementCount(a.shape, where);
  const width = { F32: 4, F64: 8, F16: 2, BF16: 2 }[type];
  if (a.bytes.byteLength !== n * width) fail('BAD_MODEL', `${where}: shape [${a.shape}] of ${a.dtype.code} needs ${n * width} bytes, the array holds ${a.bytes.byteLength}`);
  const values = decodeFloats(a.bytes, type, n, a.dtype.byteOrder === '>');
  if (a.fortran && a.shape.length > 1) fail('UNSUPPORTED', `${where} is a Fortran-ordered numpy array; save it C-ordered (np.ascontiguousarray)`);
  return { shape: a.shape, data: checkFinite(values, where) };
}
