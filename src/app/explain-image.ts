/**
 * Explains photo files end to end: decode, then explain-photo.ts (preprocess, predict, explain), and
 * render. The CLI is a thin layer over this; so can a server or a notebook be.
 */
import { checkOptions } from '../options.js';
import { decodeImage } from '../image/decode.js';
import type { Model } from '../model/model.js';
import { renderPanel, type PanelOptions, type RenderedPanel } from '../render/panel.js';
import { encodeNpy } from '../render/npy.js';
import { captionOf, explainRequested, imageRequest, type ExplainImageOptions, type ImageExplanation } from './explain-photo.js';

export { captionOf, labelOf, preprocessingOf, resolveClass, explainPhotos, explainRequested, imageRequest, type ClassScore, type ExplainImageOptions, type ImageExplanation, type ImageRequest } from './explain-photo.js';

const PANEL_OPTIONS = ['cmap', 'normalize', 'clipPercentile', 'overlay', 'caption', 'height', 'modelName'] as const;

export async function explainImage(model: Model, source: string | Uint8Array, options: ExplainImageOptions = {}): Promise<ImageExplanation> {
  const name = typeof source === 'string' ? source : 'image bytes';
  return (await explainRequested(model, [name], () => decodeImage(source, name), imageRequest(model, options, 'explainImage')))[0];
}

/**
 * Explains several photos in one batch (one forward and backward pass over all of them, which keeps
 * every thread busy); each explanation is the one explainImage would give, bit for bit.
 */
export async function explainImages(model: Model, sources: readonly (string | Uint8Array)[], options: ExplainImageOptions = {}): Promise<ImageExplanation[]> {
  const request = imageRequest(model, options, 'explainImages');
  const names = sources.map((s) => (typeof s === 'string' ? s : 'image bytes'));
  return explainRequested(model, names, (b) => decodeImage(sources[b], names[b]), request);
}

/** The panel PNG of an explanation: photo | heatmap | overlay, captioned with the explained class. */
export async function panelOf(x: ImageExplanation, options: PanelOptions & { modelName?: string } = {}): Promise<RenderedPanel> {
  checkOptions(options, PANEL_OPTIONS, 'panelOf');
  return renderPanel(x.photo, x.map, x.prepared.height, x.prepared.width, x.prepared.window, { ...options, caption: options.caption ?? captionOf(x, options.modelName) });
}

/** The raw relevance as a .npy file of shape (1, C, H, W). */
export function npyOf(x: ImageExplanation): Uint8Array {
  return encodeNpy(x.relevance, [1, x.relevance.length / (x.prepared.height * x.prepared.width), x.prepared.height, x.prepared.width]);
}
