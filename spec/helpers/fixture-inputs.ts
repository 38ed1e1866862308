/**
 * The input every fixture script computes rather than stores (each make_fixtures.py under spec/fixtures):
 * x[i] = 2 sin(0.001 i + 0.1 k) for image k of the batch.
 */
export function fixtureInputs(shape: readonly number[], batch: number): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const x = new Float32Array(n * batch);
  for (let k = 0; k < batch; k++) for (let i = 0; i < n; i++) x[k * n + i] = 2 * Math.sin(0.001 * i + 0.1 * k);
  return x;
}

/**
 * The input of spec/fixtures/captum/make_fixtures.py (and the metrics fixtures, on its models):
 * x[i] = 2 sin(0.001 i + 0.1 k) + 0.5 sin(0.05 i) for image k of the batch.
 */
export function captumInputs(shape: readonly number[], batch: number): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  return Float32Array.from({ length: n * batch }, (_, j) => {
    const i = j % n;
    return 2 * Math.sin(0.001 * i + 0.1 * Math.floor(j / n)) + 0.5 * Math.sin(0.05 * i);
  });
}
