/** The --method flag and its parameters' flags, as the CLI reads them into a method request. */
import type { ImageRequest } from '../app/explain-image.js';
import { METHODS } from '../attribution/index.js';
import { fail } from '../errors.js';
import { numberFlag } from './flags.js';

/** The flags of `relprop explain` that choose and parametrize the attribution method. */
export interface MethodFlags {
  method: string;
  composite?: string;
  steps?: string;
  integration?: string;
  baseline?: string;
  samples?: string;
  noise?: string;
  inner?: string;
  layer?: string;
  window?: string;
  stride?: string;
  fill?: string;
  segments?: string;
  seed?: string;
}

/**
 * The --method and its parameters from their flags, each flag's form checked (model.attribute checks
 * the rest: which flags the method takes, their ranges). LRP's settings stay as they were, so results
 * written before the other methods existed keep their names.
 */
export function methodOf(o: MethodFlags): ImageRequest['method'] {
  if (!Object.hasOwn(METHODS, o.method)) fail('BAD_OPTION', `unknown --method "${o.method}"; methods: ${Object.keys(METHODS).join(', ')}`);
  const pair = (v: string, what: string) => {
    const m = /^(\d+)(?:x(\d+))?$/.exec(v);
    if (!m) fail('BAD_OPTION', `${what} must be N or HxW, got "${v}"`);
    return m[2] === undefined ? Number(m[1]) : [Number(m[1]), Number(m[2])];
  };
  const float = (v: string, what: string) => numberFlag(v, what, -1e9, 1e9);
  const int = (v: string, what: string) => numberFlag(v, what, 0, 2 ** 32 - 1, true);
  const given: [Exclude<keyof MethodFlags, 'method' | 'composite'>, string, (v: string) => unknown][] = [
    ['steps', 'steps', (v) => int(v, '--steps')],
    ['integration', 'integration', (v) => v],
    ['baseline', 'baseline', (v) => float(v, '--baseline')],
    ['samples', 'samples', (v) => int(v, '--samples')],
    ['noise', 'noise', (v) => float(v, '--noise')],
    ['inner', 'inner', (v) => (v === 'lrp' ? { method: 'lrp', ...(o.composite === undefined ? {} : { composite: o.composite }) } : v)],
    ['layer', 'layer', (v) => v],
    ['window', 'window', (v) => pair(v, '--window')],
    ['stride', 'stride', (v) => pair(v, '--stride')],
    ['fill', 'fill', (v) => (v === 'mean' ? v : float(v, '--fill'))],
    ['segments', 'segments', (v) => v],
    ['seed', 'seed', (v) => int(v, '--seed')],
  ];
  const params: Record<string, unknown> = {};
  for (const [flag, param, parse] of given) {
    const v = o[flag];
    if (typeof v !== 'string') continue;
    if (o.method === 'lrp') fail('BAD_OPTION', `--${flag} is a parameter of other methods than lrp (see --method)`);
    params[param] = parse(v);
  }
  return o.method === 'lrp' ? undefined : { name: o.method, params };
}
