/**
 * The curves of an evaluation as a plot: a Vega-Lite spec (one line per method, the mean over images,
 * with a band of one standard error of that mean around it: the band says how sure the mean is, which
 * is what tells methods apart; the spread of single images is in the table), drawn to SVG by Vega. Both run in Node, Deno, Bun
 * and the page; the CLI rasterises the SVG with resvg (src/cli/svg-png.ts).
 */
export interface CurveSeries {
  method: string;
  /** Per image, steps + 1 scores. */
  curves: readonly ArrayLike<number>[];
}

export interface PlotLabels {
  title: string;
  x: string;
  y: string;
}

/** Mean and standard error of the mean (sd / sqrt(n), n - 1 in the sd's denominator; 0 for one image) at each step. */
export function meanAndError(curves: readonly ArrayLike<number>[]): { mean: Float64Array; se: Float64Array } {
  const steps = Math.min(...curves.map((c) => c.length));
  const mean = new Float64Array(steps);
  const se = new Float64Array(steps);
  for (let k = 0; k < steps; k++) {
    let s = 0;
    for (const c of curves) s += c[k];
    mean[k] = s / curves.length;
    let v = 0;
    for (const c of curves) v += (c[k] - mean[k]) ** 2;
    se[k] = curves.length > 1 ? Math.sqrt(v / (curves.length - 1) / curves.length) : 0;
  }
  return { mean, se };
}

/** The Vega-Lite spec: the steps taken on x, the score on y. */
export function curvesSpec(series: readonly CurveSeries[], labels: PlotLabels): Record<string, unknown> {
  const values = series.flatMap(({ method, curves }) => {
    const { mean, se } = meanAndError(curves);
    return Array.from(mean, (m, k) => ({ method, x: k, score: m, low: m - se[k], high: m + se[k] }));
  });
  // Steps are whole: no tick between two (a curve of 3 stages had ticks at 0.4, 0.8, ...).
  const x = { field: 'x', type: 'quantitative', title: labels.x, axis: { tickMinStep: 1 } };
  // The legend's symbols are drawn as the lines are: from the bands alone they took their 15% opacity.
  const color = { field: 'method', type: 'nominal', title: 'method', sort: series.map((s) => s.method), legend: { labelLimit: 260, symbolType: 'stroke', symbolOpacity: 1, symbolStrokeWidth: 3 } };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    // Anchored at the plot's left edge: centred, a title wider than the plot padded the left side.
    title: { text: labels.title, anchor: 'start' },
    width: 520,
    height: 320,
    data: { values },
    layer: [
      { mark: { type: 'area', opacity: 0.15 }, encoding: { x, y: { field: 'low', type: 'quantitative' }, y2: { field: 'high' }, color } },
      { mark: { type: 'line', strokeWidth: 2 }, encoding: { x, y: { field: 'score', type: 'quantitative', title: labels.y }, color } },
    ],
    config: { font: 'DejaVu Sans' },
  };
}

/** The plot as SVG text. */
export async function curvesSvg(series: readonly CurveSeries[], labels: PlotLabels): Promise<string> {
  const [vl, vega] = await Promise.all([import('vega-lite'), import('vega')]);
  const view = new vega.View(vega.parse(vl.compile(curvesSpec(series, labels) as never).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
