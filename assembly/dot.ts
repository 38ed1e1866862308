// Dot product of two f32 vectors, four lanes at a time. The four lane partial sums are added once at
// the end, so the summation order differs from a sequential loop: callers compare with a tolerance.
export function dot(a: usize, b: usize, n: i32): f32 {
  let acc = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const off = <usize>i << 2;
    acc = f32x4.add(acc, f32x4.mul(v128.load(a + off), v128.load(b + off)));
  }
  let sum = f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) +
    f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3);
  for (; i < n; i++) {
    const off = <usize>i << 2;
    sum += load<f32>(a + off) * load<f32>(b + off);
  }
  return sum;
}

// Memory grows on request from the engine, which plans its arena in JavaScript.
export function memoryPages(): i32 {
  return memory.size();
}
