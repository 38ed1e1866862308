/** The demo worker's plotting, a bundle of its own (Vega-Lite and Vega): loaded when the evaluate panel is first used. */
export { curvesSvg } from '../src/evaluation/curves-plot.js';
