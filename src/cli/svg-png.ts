/**
 * SVG to PNG by resvg's wasm build, with DejaVu Sans (an npm package of the font files) for the text:
 * wasm sees no system fonts, and a plot without its labels is no plot.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
let ready: Promise<typeof import('@resvg/resvg-wasm')> | undefined;

function resvg() {
  ready ??= import('@resvg/resvg-wasm').then(async (m) => {
    await m.initWasm(readFileSync(require.resolve('@resvg/resvg-wasm/index_bg.wasm')));
    return m;
  });
  return ready;
}

export async function svgToPng(svg: string, scale = 2): Promise<Uint8Array> {
  const { Resvg } = await resvg();
  const font = readFileSync(require.resolve('dejavu-fonts-ttf/ttf/DejaVuSans.ttf'));
  const r = new Resvg(svg, { fitTo: { mode: 'zoom', value: scale }, background: 'white', font: { fontBuffers: [font], defaultFontFamily: 'DejaVu Sans', sansSerifFamily: 'DejaVu Sans' } });
  return r.render().asPng();
}
