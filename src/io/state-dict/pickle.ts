/**
 * Python pickles, read by pickleparser under an allow-list. Unpickling runs whatever the file names
 * (GLOBAL, STACK_GLOBAL, INST, OBJ, REDUCE, NEWOBJ): here a name resolves only to one of the functions
 * below, written in this file, which build inert records (a tensor's storage, offset, shape and
 * stride; a numpy array's dtype and bytes). Any other name is refused as it is read, before anything is
 * called, and nothing is ever imported. Dicts become Maps, so a key such as "__proto__" is only a key.
 */
import { Parser } from 'pickleparser';
import { fail, RelpropError } from '../../errors.js';

/** A storage named by a persistent id: its bytes are found later, by key (zip entry or legacy order). */
export class StorageRef {
  constructor(
    readonly type: StorageType,
    readonly key: string,
    readonly numel: number,
  ) {}
}

/** torch._utils._rebuild_tensor(_v2): a strided view of a storage. */
export class TensorRef {
  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly shape: number[],
    readonly stride: number[],
  ) {}
}

/** A numpy array: dtype code (e.g. "f4"), byte order, shape, Fortran order and its raw bytes. */
export class NdArray {
  dtype: NumpyDtype | undefined;
  shape: number[] = [];
  fortran = false;
  bytes: Uint8Array | undefined;
  /** ndarray.__reduce__'s state: ([version,] shape, dtype, is_fortran, rawdata). */
  __setstate__(state: unknown): void {
    if (!Array.isArray(state) || (state.length !== 5 && state.length !== 4)) throw new Error('numpy array state is not a 4- or 5-tuple');
    const [shape, dtype, fortran, raw] = state.length === 5 ? state.slice(1) : state;
    if (!(dtype instanceof NumpyDtype)) throw new Error('numpy array state has no dtype');
    if (!(raw instanceof Uint8Array)) throw new Error('numpy array holds Python objects, not numbers');
    this.dtype = dtype;
    this.shape = dims(shape, 'numpy array shape');
    this.fortran = fortran === true;
    this.bytes = raw;
  }
}

/** numpy.dtype("f4", False, True) and its state (3, "<", ...). */
export class NumpyDtype {
  byteOrder = '<';
  constructor(readonly code: string) {}
  __setstate__(state: unknown): void {
    if (Array.isArray(state) && typeof state[1] === 'string') this.byteOrder = state[1];
  }
}

/** The storage classes a tensor's persistent id may name, with their element types. */
export const STORAGE_TYPES = {
  FloatStorage: { type: 'F32', bytes: 4 },
  DoubleStorage: { type: 'F64', bytes: 8 },
  HalfStorage: { type: 'F16', bytes: 2 },
  BFloat16Storage: { type: 'BF16', bytes: 2 },
  LongStorage: { type: 'int', bytes: 8 },
  IntStorage: { type: 'int', bytes: 4 },
  ShortStorage: { type: 'int', bytes: 2 },
  CharStorage: { type: 'int', bytes: 1 },
  ByteStorage: { type: 'int', bytes: 1 },
  BoolStorage: { type: 'int', bytes: 1 },
} as const;
export type StorageType = (typeof STORAGE_TYPES)[keyof typeof STORAGE_TYPES];

const count = (v: unknown, what: string): number => {
  if (typeof v === 'bigint' && v >= 0n && v <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(v);
  if (!Number.isSafeInteger(v) || (v as number) < 0) throw new Error(`${what} is ${String(v)}, not a size`);
  return v as number;
};
const dims = (v: unknown, what: string): number[] => {
  if (!Array.isArray(v)) throw new Error(`${what} is not a tuple`);
  return v.map((d, i) => count(d, `${what}[${i}]`));
};

function rebuildTensor(storage: unknown, offset: unknown, shape: unknown, stride: unknown): TensorRef {
  if (!(storage instanceof StorageRef)) throw new Error('a tensor is rebuilt from something that is not a storage');
  return new TensorRef(storage, count(offset, 'storage offset'), dims(shape, 'tensor size'), dims(stride, 'tensor stride'));
}

function numpyReconstruct(cls: unknown): NdArray {
  if (cls !== ALLOWED['numpy.ndarray']) {
    const name = (cls as { marker?: string } | null)?.marker ?? (typeof cls === 'function' ? Object.keys(ALLOWED).find((k) => ALLOWED[k] === cls) : undefined);
    throw new Error(`numpy _reconstruct of ${name ? `"${name}"` : `a ${typeof cls}`}, not numpy.ndarray`);
  }
  return new NdArray();
}

function numpyFromBuffer(buffer: unknown, dtype: unknown, shape: unknown, order: unknown): NdArray {
  const a = new NdArray();
  a.__setstate__([dims(shape, 'numpy array shape'), dtype, order === 'F', buffer]);
  return a;
}

/** The markers and rebuilders a name may resolve to; each is called only with what the pickle holds. */
const marker = (name: string) => Object.assign(() => fail('BAD_MODEL', `${name} is a type marker, not callable`), { marker: name });
const ALLOWED: Record<string, (...args: never[]) => unknown> = {
  'collections.OrderedDict': () => new Map(),
  'torch._utils._rebuild_tensor': rebuildTensor as never,
  'torch._utils._rebuild_tensor_v2': rebuildTensor as never,
  'torch._utils._rebuild_parameter': ((data: unknown) => data) as never,
  'torch._utils._rebuild_parameter_with_state': ((data: unknown) => data) as never,
  'numpy.ndarray': marker('numpy.ndarray'),
  'numpy.core.multiarray._reconstruct': numpyReconstruct as never,
  'numpy._core.multiarray._reconstruct': numpyReconstruct as never,
  'numpy.core.numeric._frombuffer': numpyFromBuffer as never,
  'numpy._core.numeric._frombuffer': numpyFromBuffer as never,
  'numpy.dtype': ((code: unknown) => {
    if (typeof code !== 'string') throw new Error('numpy dtype without a type code');
    return new NumpyDtype(code);
  }) as never,
  'numpy.core.multiarray.scalar': ((dtype: unknown, bytes: unknown) => ({ dtype, bytes })) as never,
  'numpy._core.multiarray.scalar': ((dtype: unknown, bytes: unknown) => ({ dtype, bytes })) as never,
  // Protocol 2 writes Python 3 bytes as _codecs.encode(text, "latin1") (numpy arrays in Paddle's files).
  '_codecs.encode': ((text: unknown, encoding: unknown) => {
    if (typeof text !== 'string' || (encoding !== 'latin1' && encoding !== 'latin-1')) throw new Error('_codecs.encode other than latin1 text');
    return Uint8Array.from(text, (c) => c.charCodeAt(0));
  }) as never,
  // timm's training checkpoints keep their command line as an argparse.Namespace: an empty record here.
  'argparse.Namespace': (() => ({})) as never,
  ...Object.fromEntries(Object.entries(STORAGE_TYPES).map(([name, type]) => [`torch.${name}`, Object.assign(marker(`torch.${name}`), { storage: type })])),
};

/** What a persistent id resolves to (PyTorch's storages); undefined: the file may not use them. */
export type PersistentLoad = (pid: unknown) => unknown;

/** A storage type marker's element type. */
export function storageTypeOf(v: unknown): StorageType | undefined {
  return typeof v === 'function' && 'storage' in v ? (v as unknown as { storage: StorageType }).storage : undefined;
}

/** One pickle from `bytes` at `at`, under the allow-list; returns the value and where the next byte is. */
export function unpickle(bytes: Uint8Array, where: string, options: { at?: number; persistentLoad?: PersistentLoad } = {}): { value: unknown; end: number } {
  const refused: string[] = [];
  const parser = new Parser({
    unpicklingTypeOfDictionary: 'Map',
    unpicklingTypeOfSet: 'array',
    nameResolver: {
      resolve(module: string, name: string) {
        const fn = Object.hasOwn(ALLOWED, `${module}.${name}`) ? ALLOWED[`${module}.${name}`] : undefined;
        if (!fn) {
          refused.push(`${module}.${name}`);
          throw new RelpropError('UNSUPPORTED', refusal(where, `${module}.${name}`));
        }
        return fn;
      },
    },
    persistentResolver: {
      resolve(pid: unknown) {
        if (!options.persistentLoad) throw new Error(`a persistent id (${describe(pid)}) in a file that has no storages`);
        return options.persistentLoad(pid);
      },
    },
    extensionResolver: {
      resolve(code: number) {
        throw new RelpropError('UNSUPPORTED', `${where}: the pickle names extension code ${code}; relprop rebuilds only tensors, numpy arrays and dicts`);
      },
    },
  });
  const reader = new Reader(bytes, options.at ?? 0);
  try {
    const value = parser.read(reader as never);
    return { value, end: reader.position };
  } catch (e) {
    if (e instanceof RelpropError) throw e;
    // A refused name may surface as another error when the parser goes on (a rejected resolver's
    // caller): report the refusal.
    if (refused.length) throw new RelpropError('UNSUPPORTED', refusal(where, refused[0]));
    return fail('BAD_MODEL', `${where}: not a readable pickle at byte ${reader.position} (${(e as Error).message})`);
  }
}

function refusal(where: string, name: string): string {
  const model = /^(torchvision|timm|torch\.nn|paddle|__main__)\b/.test(name) ? ` — the file holds a whole pickled model; save its state_dict() instead` : '';
  return `${where}: the pickle names ${name}, which relprop does not rebuild (it rebuilds only tensors, storages, OrderedDict and numpy arrays, and runs nothing a file names)${model}`;
}

const describe = (v: unknown) => (Array.isArray(v) ? `(${v.map((x) => (typeof x === 'string' ? x : typeof x)).join(', ')})` : typeof v);

/** pickleparser's reader contract over a byte range, starting at an offset (legacy files hold several pickles). */
class Reader {
  private readonly view: DataView;
  private readonly utf8 = new TextDecoder('utf-8');
  private readonly latin1 = new TextDecoder('latin1');
  constructor(
    private readonly buf: Uint8Array,
    public position: number,
  ) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  private take(n: number): number {
    if (!Number.isSafeInteger(n) || n < 0 || this.position + n > this.buf.byteLength) throw new Error(`a length of ${n} runs past the end of the file`);
    const at = this.position;
    this.position += n;
    return at;
  }
  byte() {
    return this.buf[this.take(1)];
  }
  bytes(n: number) {
    const at = this.take(n);
    return this.buf.subarray(at, at + n);
  }
  uint16() {
    return this.view.getUint16(this.take(2), true);
  }
  int32() {
    return this.view.getInt32(this.take(4), true);
  }
  uint32() {
    return this.view.getUint32(this.take(4), true);
  }
  uint64() {
    const at = this.take(8);
    const v = this.view.getBigUint64(at, true);
    return v > BigInt(Number.MAX_SAFE_INTEGER) ? Infinity : Number(v);
  }
  float64() {
    return this.view.getFloat64(this.take(8), false);
  }
  skip(n: number) {
    this.take(n);
  }
  string(n: number, encoding: 'ascii' | 'utf-8') {
    return (encoding === 'utf-8' ? this.utf8 : this.latin1).decode(this.bytes(n));
  }
  line() {
    const end = this.buf.indexOf(0x0a, this.position);
    if (end < 0) throw new Error('a text opcode without its end of line');
    const text = this.latin1.decode(this.buf.subarray(this.position, end));
    this.position = end + 1;
    return text;
  }
  hasNext() {
    return this.position < this.buf.byteLength;
  }
}
