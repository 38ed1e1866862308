/**
 * sRGB in [0, 1] to CIE L*a*b* (D65, 2 degree observer), as scikit-image's rgb2lab (colorconv.py),
 * which SLIC measures colour distances in: L in [0, 100].
 */
const M = [
  [0.412453, 0.35758, 0.180423],
  [0.212671, 0.71516, 0.072169],
  [0.019334, 0.119193, 0.950227],
];
const WHITE = [0.95047, 1.0, 1.08883];

const linear = (c: number) => (c > 0.04045 ? ((c + 0.055) / 1.055) ** 2.4 : c / 12.92);
const f = (t: number) => (t > 0.008856 ? Math.cbrt(t) : 7.787 * t + 16 / 116);

/** One pixel's L, a, b from its r, g, b. */
export function rgbToLab(r: number, g: number, b: number): [number, number, number] {
  const rgb = [linear(r), linear(g), linear(b)];
  const [fx, fy, fz] = M.map((row, i) => f((row[0] * rgb[0] + row[1] * rgb[1] + row[2] * rgb[2]) / WHITE[i]));
  return [116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)];
}
