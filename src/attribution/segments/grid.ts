/** A plain segmentation: square cells of `cell` pixels (the last row and column of cells cut at the edge), numbered row by row. */
export function gridSegments(h: number, w: number, cell: number): Int32Array {
  const across = Math.ceil(w / cell);
  const labels = new Int32Array(h * w);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) labels[y * w + x] = Math.floor(y / cell) * across + Math.floor(x / cell);
  return labels;
}
