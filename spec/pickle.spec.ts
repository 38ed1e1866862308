/**
 * Pickles under the allow-list (src/io/state-dict/pickle.ts) and the torch.save containers around them.
 * The hostile files are made by spec/fixtures/torch/make_fixtures.py with Python's own pickle: each
 * would run `touch <marker>` if Python unpickled it. Here each is refused naming the class; the marker
 * never appears; names that exist on JavaScript objects (constructor, __proto__, toString) resolve to
 * nothing; a dict key "__proto__" stays a key. Damaged files of each container (zip, legacy, pickled
 * numpy) end in a RelpropError, 300 runs of each kind of damage, as safetensors and ONNX.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { unzipSync, zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { RelpropError } from '../src/errors.js';
import { modelFromStateDict } from '../src/io/state-dict/state-dict.js';
import { readTorchFile } from '../src/io/state-dict/torch-file.js';
import { DAMAGES, damagedFilesEndCleanly } from './helpers/damage.js';

const DIR = join(import.meta.dirname, 'fixtures/torch');
const META = JSON.parse(readFileSync(join(DIR, 'fixtures.json'), 'utf8'));
const read = (file: string) => new Uint8Array(readFileSync(join(DIR, file)));
const latin1 = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

describe('hostile pickles are refused, naming what they would run, and run nothing', () => {
  it.each([
    ['os_system.pkl', 'posix.system', 'GLOBAL + REDUCE'],
    ['os_system.pth', 'posix.system', 'inside a torch.save zip'],
    ['builtins_eval.pkl', 'builtins.eval', 'STACK_GLOBAL'],
    ['subprocess_inst.pkl', 'subprocess.call', 'INST'],
    ['subprocess_obj.pkl', 'subprocess.call', 'OBJ'],
  ])('%s names %s (%s)', (file, name) => {
    expect(existsSync(META.marker)).toBe(false);
    expect(() => readTorchFile(read(`hostile/${file}`), file)).toThrow(new RegExp(`${file}.*: the pickle names ${name.replace('.', '\\.')}, which relprop does not rebuild`));
    expect(existsSync(META.marker)).toBe(false);
  });
  it('a whole pickled model is refused with the way out', () => {
    expect(() => readTorchFile(read('hostile/torchvision_model.pkl'), 'm.pkl')).toThrow(/names torchvision\.models\.resnet\.ResNet.*save its state_dict\(\) instead/);
  });
  it('names that exist on JavaScript objects resolve to nothing', () => {
    for (const [module, name] of [['constructor', 'constructor'], ['__proto__', 'constructor'], ['collections', 'toString'], ['torch._utils', '__proto__'], ['globalThis', 'eval']]) {
      // protocol 0: GLOBAL module\nname\n, an empty tuple, REDUCE, STOP
      const bytes = latin1(`c${module}\n${name}\n(tR.`);
      expect(() => readTorchFile(bytes, 'js.pkl'), `${module}.${name}`).toThrow(new RegExp(`the pickle names ${module.replace(/[.$]/g, '\\$&')}\\.${name}, which relprop does not rebuild`));
    }
  });
  it('a dict key "__proto__" is a key, not a prototype', () => {
    // pickle.dumps({'__proto__': {'polluted': True}, 'constructor': 1}, protocol=2)
    const bytes = latin1('\x80\x02}q\x00(X\t\x00\x00\x00__proto__q\x01}q\x02X\x08\x00\x00\x00pollutedq\x03\x88sX\x0b\x00\x00\x00constructorq\x04K\x01u.');
    expect(() => readTorchFile(bytes, 'proto.pkl')).toThrow(/proto\.pkl holds no tensors at its top level .*its keys: __proto__, constructor/);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
  describe("numpy's _reconstruct builds an ndarray only", () => {
    // pickle.dumps({'w': np.array([1.5, -2], dtype='<f4')}, protocol=3): _reconstruct(numpy.ndarray, (0,), b'b'),
    // then BUILD with the array's state. The hostile copies name another class in ndarray's place, one
    // the allow-list resolves (so only _reconstruct's own check stands between it and an array); the
    // pickle is otherwise the same, so if that check went, each would read as [1.5, -2].
    const genuine = '\x80\x03}q\x00X\x01\x00\x00\x00wq\x01cnumpy.core.multiarray\n_reconstruct\nq\x02cnumpy\nndarray\nq\x03K\x00\x85q\x04C\x01bq\x05\x87q\x06Rq\x07(K\x01K\x02\x85q\x08cnumpy\ndtype\nq\tX\x02\x00\x00\x00f4q\n\x89\x88\x87q\x0bRq\x0c(K\x03X\x01\x00\x00\x00<q\rNNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tq\x0eb\x89C\x08\x00\x00\xc0?\x00\x00\x00\xc0q\x0ftq\x10bs.';
    it('the genuine pickle reads (the control: the copies below differ from it only in the class)', () => {
      const w = readTorchFile(latin1(genuine), 'np.pkl').get('w')!;
      expect(w.shape).toEqual([2]);
      expect(Array.from(w.data)).toEqual([1.5, -2]);
    });
    it.each([
      ['collections', 'OrderedDict'],
      ['argparse', 'Namespace'],
      ['numpy', 'dtype'],
      ['torch', 'FloatStorage'],
    ])('_reconstruct of %s.%s is refused', (module, name) => {
      const hostile = genuine.replace('cnumpy\nndarray\n', `c${module}\n${name}\n`);
      expect(hostile).not.toBe(genuine);
      const read = () => readTorchFile(latin1(hostile), 'np.pkl');
      expect(read).toThrow(RelpropError);
      expect(read).toThrow(`numpy _reconstruct of "${module}.${name}", not numpy.ndarray`);
    });
  });
  it('a pickle of something other than a dict says what it holds', () => {
    expect(() => readTorchFile(latin1('\x80\x02]q\x00(K\x01K\x02e.'), 'list.pkl')).toThrow(/list\.pkl holds a list, not a dict of tensors/);
  });
});

describe('torch.save zip archives are checked before anything is inflated or allocated', () => {
  const resnet = META.groups.find((g: { name: string }) => g.name === 'resnet18');
  const zipped = read(resnet.files.find((f: { format: string }) => f.format === 'zip-f32').file);
  it('a compressed entry (a zip bomb: 64 MiB of zeros in 64 KiB) is refused unread', () => {
    const entries = unzipSync(zipped);
    const root = Object.keys(entries)[0].split('/')[0];
    const bomb = zipSync({ ...entries, [`${root}/data/bomb`]: [new Uint8Array(64 * 2 ** 20), { level: 9 }] }, { level: 0 });
    expect(bomb.length).toBeLessThan(zipped.length + 2 ** 17);
    expect(() => readTorchFile(bomb, 'bomb.pth')).toThrow(/bomb\.pth: entry .*data\/bomb \(method 8, \d+ -> 67108864 bytes\) is compressed or larger than the file/);
  });
  it('an archive without data.pkl is not a torch.save file', () => {
    expect(() => readTorchFile(zipSync({ 'archive/version': latin1('3\n') }, { level: 0 }), 'empty.pth')).toThrow(/empty\.pth: a zip archive without <name>\/data\.pkl/);
  });
  it('a storage entry shorter than its tensors', () => {
    const entries = unzipSync(zipped);
    const [name] = Object.keys(entries).filter((n) => /\/data\/\d+$/.test(n));
    const short = zipSync({ ...entries, [name]: entries[name].subarray(0, 4) }, { level: 0 });
    expect(() => readTorchFile(short, 'short.pth')).toThrow(/short\.pth: tensor "[^"]+": (storage \d+ holds 4 bytes|the view reaches element)/);
  });
});

// Each damaged file either reads (a flip inside the numbers) or ends in a RelpropError; never another
// exception, a hang or an allocation beyond the file.
describe.each([
  ['zip', 'resnet18.pth'],
  ['legacy', 'resnet18.legacy.pth'],
  ['pickled numpy (protocol 4)', 'resnet18.pdparams'],
])('damaged %s files end in clear errors', (_, file) => {
  it.each(DAMAGES)('%s', (kind) => damagedFilesEndCleanly(read(file), kind, (damaged) => modelFromStateDict('resnet18', readTorchFile(damaged, 'fuzz'), { inputSize: 64, where: 'fuzz' })));
});
