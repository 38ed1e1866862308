/**
 * How a load uses prepared models: the key of a model's prepared form (its source and the options that
 * shape its graph), reading a fresh one instead of importing, and making one after an import.
 */
import type { Graph } from '../../graph/graph.js';
import { RelpropError } from '../../errors.js';
import type { ModelInfo } from '../../model/model.js';
import type { ModelFiles } from '../files.js';
import { inputSizeOf } from '../input-shape.js';
import type { PreparedSource } from './format.js';
import type { PreparedKey } from './store.js';

/**
 * A model's graph as an importer made it, with what the source says of the model (arch, labels,
 * preprocessing) and why that preprocessing is a guess where it is one: a Model once the caller's
 * options apply (modelOf), or a prepared model's contents.
 */
export interface Imported {
  graph: Graph;
  extra: Partial<ModelInfo>;
  guess?: string;
  /** The prepared form it was read from or written to. */
  prepared?: string;
}

/**
 * Whether a load may use a prepared form ('use': where one is fresh; a known model's is made when
 * there is none) or makes one from the source ('make').
 */
export type PreparedMode = 'use' | 'make';

/** The load options a prepared form depends on: those that shape the graph. */
export interface GraphShaping {
  inputShape?: readonly [number, number, number];
  inputSize?: number | readonly [number, number];
  arch?: string;
}

/** What a prepared model is keyed by: its source, and the load options that shape the graph. */
function preparedKey(from: string, options: GraphShaping): PreparedKey {
  const size = options.inputShape ?? (options.inputSize === undefined ? undefined : inputSizeOf(options.inputSize));
  return { from: options.arch ? `${from} as ${options.arch}` : from, inputShape: size ? [...size] : undefined };
}

/** A ModelFiles that notes the absolute path of every file read through it. */
export function recording(files: ModelFiles, dir: string, read: string[]): ModelFiles {
  const note = (rel: string) => read.push(`${dir}/${rel}`);
  return {
    read: (rel, limit) => (note(rel), files.read(rel, limit)),
    readRangeSync: files.readRangeSync && ((rel, offset, length) => (note(rel), files.readRangeSync!(rel, offset, length))),
  };
}

/**
 * A model's import (`from`: its file, or a known model's name and version), from its prepared form
 * where one is fresh; else `load` imports the source (noting the files it reads besides `from`, unless
 * `sources` lists them with their hashes). A prepared form is made after an import with mode 'make'
 * (failing if it cannot be written) or with `autoWrite` (quietly: a read-only cache, or a damaged
 * prepared form, only costs the import).
 */
export async function withPrepared(root: string, from: string, options: GraphShaping, load: (read: string[]) => Promise<Imported>, mode: PreparedMode, autoWrite: boolean, sources?: ReadonlyMap<string, string>): Promise<Imported> {
  const store = await import('./store.js');
  const key = preparedKey(from, options);
  const where = await store.preparedPath(root, key);
  if (mode === 'use') {
    try {
      const prepared = await store.readPrepared(where, key);
      if (prepared) return { graph: prepared.graph, extra: prepared.header.info.extra, guess: prepared.header.info.guess, prepared: where };
    } catch (e) {
      if (!(e instanceof RelpropError)) throw e;
    }
  }
  const read: string[] = [];
  const imported = await load(read);
  const files = sources ? [...sources.keys()] : [from, ...read];
  if (mode === 'make' || autoWrite) {
    try {
      await prepareImported(where, key, imported, files, sources);
      return { ...imported, prepared: where };
    } catch (e) {
      if (mode === 'make') throw e;
    }
  }
  return imported;
}

async function prepareImported(where: string, key: PreparedKey, imported: Imported, files: string[], hashes?: ReadonlyMap<string, string>): Promise<void> {
  const store = await import('./store.js');
  const { BUILD_ID } = await import('../../build-id.generated.js');
  const source: PreparedSource = { relprop: BUILD_ID, from: key.from, inputShape: key.inputShape, files: await store.describeFiles([...new Set(files)], hashes) };
  await store.writePrepared(where, store.encodePrepared(imported.graph, { extra: imported.extra, guess: imported.guess }, source));
}
