// Float32 exp and erf four lanes at a time, for the transformer kernels (softmax, GELU), and the loads
// and stores of a row's last 1-3 floats, so a tail runs through the same vector code as the rest.

/**
 * e^x for x <= 88 (inputs above are read as 88; every caller's are at most 0): Cephes' expf, x = n ln 2
 * + r with ln 2 in two parts, a degree-7 polynomial in r, 2^n put into the exponent bits. Within 1.3 ulp
 * of e^x over [-87, 88] (checked against float64 in spec/kernels.transformer.spec.ts); 0 below -87.3,
 * where e^x is under float32's smallest normal (a masked softmax's -Infinity gives 0); NaN stays NaN.
 */
@inline export function expv(x: v128): v128 {
  const c = f32x4.min(f32x4.max(x, f32x4.splat(-87.3365478515625)), f32x4.splat(88));
  const n = f32x4.nearest(f32x4.mul(c, f32x4.splat(1.44269504088896341)));
  const r = f32x4.sub(f32x4.sub(c, f32x4.mul(n, f32x4.splat(0.693359375))), f32x4.mul(n, f32x4.splat(-2.12194440e-4)));
  let p = f32x4.splat(1.987569150e-4);
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.3981999507e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(8.3334519073e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(4.1665795894e-2));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.6666665459e-1));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(5.0000001201e-1));
  const y = f32x4.add(f32x4.add(f32x4.mul(p, f32x4.mul(r, r)), r), f32x4.splat(1));
  const e = f32x4.mul(y, i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(n), i32x4.splat(127)), 23));
  return v128.andnot(e, f32x4.lt(x, f32x4.splat(-87.3365478515625)));
}

/**
 * erf(x): Eigen's rational approximation (odd degree 13 over even degree 8, x clamped to +-4), within
 * 4.2e-7 of erf (7 float32 ulps near +-1; checked against float64 in spec/kernels.transformer.spec.ts).
 */
@inline export function erfv(x: v128): v128 {
  const c = f32x4.min(f32x4.max(x, f32x4.splat(-4)), f32x4.splat(4));
  const c2 = f32x4.mul(c, c);
  let p = f32x4.splat(-2.72614225801306e-10);
  p = f32x4.add(f32x4.mul(p, c2), f32x4.splat(2.77068142495902e-8));
  p = f32x4.add(f32x4.mul(p, c2), f32x4.splat(-2.10102402082508e-6));
  p = f32x4.add(f32x4.mul(p, c2), f32x4.splat(-5.69250639462346e-5));
  p = f32x4.add(f32x4.mul(p, c2), f32x4.splat(-7.34990630326855e-4));
  p = f32x4.add(f32x4.mul(p, c2), f32x4.splat(-2.95459980854025e-3));
  p = f32x4.add(f32x4.mul(p, c2), f32x4.splat(-1.60960333262415e-2));
  let q = f32x4.splat(-1.45660718464996e-5);
  q = f32x4.add(f32x4.mul(q, c2), f32x4.splat(-2.13374055278905e-4));
  q = f32x4.add(f32x4.mul(q, c2), f32x4.splat(-1.68282697438203e-3));
  q = f32x4.add(f32x4.mul(q, c2), f32x4.splat(-7.37332916720468e-3));
  q = f32x4.add(f32x4.mul(q, c2), f32x4.splat(-1.42647390514189e-2));
  return f32x4.div(f32x4.mul(c, p), q);
}

/** The first `count` (1-3) floats at p in the low lanes, `fill` in the others. */
@inline export function loadTail(p: usize, count: i32, fill: f32): v128 {
  let v = f32x4.splat(fill);
  v = f32x4.replace_lane(v, 0, load<f32>(p));
  if (count > 1) v = f32x4.replace_lane(v, 1, load<f32>(p, 4));
  if (count > 2) v = f32x4.replace_lane(v, 2, load<f32>(p, 8));
  return v;
}

/** Stores the low `count` (1-3) lanes of v at p. */
@inline export function storeTail(p: usize, v: v128, count: i32): void {
  store<f32>(p, f32x4.extract_lane(v, 0));
  if (count > 1) store<f32>(p, f32x4.extract_lane(v, 1), 4);
  if (count > 2) store<f32>(p, f32x4.extract_lane(v, 2), 8);
}

/** The sum of v's four lanes. */
@inline export function lanesSum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
}
