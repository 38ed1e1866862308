// relprop/app: photos in, heatmaps out. Kept apart from the core entry point so that using the engine
// alone does not load the image codecs.
export { explainImage, explainImages, explainPhotos, captionOf, panelOf, npyOf, resolveClass, preprocessingOf, labelOf, type ImageExplanation, type ExplainImageOptions, type ClassScore } from './explain-image.js';
export { decodeImage, MAX_PIXELS, type RgbImage } from '../image/decode.js';
export { decodeWithPlatform } from '../image/decode-platform.js';
export { preprocessImage, type PreparedImage, type InputWindow } from '../image/preprocess.js';
export { resizeBilinear } from '../image/resize.js';
export { channelSum, normalizeMap, heatmapRgb, NORMALIZATIONS, type HeatmapOptions, type Normalization } from '../render/heatmap.js';
export { COLORMAPS, colormap, type ColorMap } from '../render/colormaps.js';
export { renderPanel, type PanelOptions, type RenderedPanel } from '../render/panel.js';
export { panelPixels, type PanelPixels } from '../render/panel-pixels.js';
export { encodeNpy, decodeNpy } from '../render/npy.js';
