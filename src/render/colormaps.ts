import { fail } from '../errors.js';

/** A colour map: t in [0, 1] to RGB in [0, 1]. For signed relevance, t = 0.5 is zero. */
export type ColorMap = (t: number) => [number, number, number];

const clip = (v: number) => (v < 0 ? 0 : v > 1 ? 1 : v);

/** Zennit's hot: black, red, yellow, white in equal thirds. */
const hot: ColorMap = (t) => [clip(3 * t), clip(3 * t - 1), clip(3 * t - 2)];
/** Zennit's cold: black, blue, cyan. */
const cold: ColorMap = (t) => [0, clip(2 * t - 1), clip(2 * t)];

/**
 * `signed`: a diverging map, zero in its middle (t = 0.5), for relevance with its sign; the others run
 * from nothing to most, for magnitudes.
 */
export const COLORMAPS: Readonly<Record<string, { map: ColorMap; description: string; signed: boolean }>> = {
  bwr: {
    description: 'blue (negative), white (zero), red (positive); Zennit\'s bu_wh_rd, matplotlib\'s bwr',
    signed: true,
    map: (t) => {
      const s = 2 * t - 1;
      return s >= 0 ? [1, 1 - clip(s), 1 - clip(s)] : [1 - clip(-s), 1 - clip(-s), 1];
    },
  },
  seismic: {
    description: 'dark blue, blue, white (zero), red, dark red; matplotlib\'s seismic',
    signed: true,
    map: (t) => {
      const stops: [number, number, number, number][] = [
        [0, 0, 0, 0.3],
        [0.25, 0, 0, 1],
        [0.5, 1, 1, 1],
        [0.75, 1, 0, 0],
        [1, 0.5, 0, 0],
      ];
      const x = clip(t);
      let i = 0;
      while (i < stops.length - 2 && x > stops[i + 1][0]) i++;
      const [t0, r0, g0, b0] = stops[i];
      const [t1, r1, g1, b1] = stops[i + 1];
      const f = (x - t0) / (t1 - t0);
      return [r0 + f * (r1 - r0), g0 + f * (g1 - g0), b0 + f * (b1 - b0)];
    },
  },
  coldnhot: {
    description: 'cyan, blue, black (zero), red, yellow, white; Zennit\'s coldnhot',
    signed: true,
    map: (t) => {
      const s = 2 * t - 1;
      const h = hot(clip(s));
      const c = cold(clip(-s));
      return [h[0] + c[0], h[1] + c[1], h[2] + c[2]];
    },
  },
  hot: { description: 'black, red, yellow, white; Zennit\'s hot (one-sided: shows |relevance| by default)', map: hot, signed: false },
  gray: { description: 'black to white (one-sided: shows |relevance| by default)', map: (t) => [clip(t), clip(t), clip(t)], signed: false },
};

export function colormap(name: string): ColorMap {
  const c = COLORMAPS[name];
  if (!c) fail('BAD_OPTION', `unknown colour map "${name}"; known: ${Object.keys(COLORMAPS).join(', ')}`);
  return c.map;
}
