/**
 * grad-cam, as Captum's LayerGradCam(relu_attributions=True) followed by LayerAttribution.interpolate:
 *   cam = ReLU( sum_c  mean_{h,w}(d logit_target / d A_c) * A_c )
 * over the channels c of a layer's output A (C x h x w), then `attribution` = cam resized to the
 * input's H x W as PyTorch's bilinear interpolate (align_corners false), one channel. The default layer
 * is the last node whose output is still a map (h x w > 1), pools, pads and identities skipped: the
 * last ReLU before the global pool of a ResNet, DenseNet, MobileNet or EfficientNet (its last activation),
 * and a VGG's last ReLU before its last max-pool (conv5_3's, as the Grad-CAM paper uses).
 */
import { fail } from '../../errors.js';
import { hasAttention } from '../../graph/attention.js';
import type { Graph } from '../../graph/graph.js';
import { resizeBilinear } from '../bilinear.js';
import type { MethodDefinition } from '../types.js';

const NOT_A_LAYER = new Set(['MaxPool2d', 'AvgPool2d', 'GlobalAvgPool', 'Pad', 'Identity', 'Flatten']);

/** The last node feeding the logits whose output is a map with more than one position. */
export function defaultCamLayer(graph: Graph): string {
  // A transformer's values after its patch embedding are tokens, not maps (shaped [1, tokens, features]).
  if (hasAttention(graph)) {
    fail('BAD_OPTION', "grad-cam: this model is a transformer: its tokens are no map, and its last map is the patch embedding's, before any attention; name a layer to use one anyway, or explain it with lrp (its composites cp-lrp and attnlrp)");
  }
  const spatial = camLayers(graph);
  if (!spatial.length) return fail('BAD_OPTION', 'grad-cam needs a layer whose output is a map (C x h x w); this model has none');
  return spatial[spatial.length - 1];
}

/** The nodes Grad-CAM can read, in order: outputs C x h x w with h x w > 1. */
export function camLayers(graph: Graph): string[] {
  return graph
    .upstream(graph.logitsName)
    .filter((n) => {
      const s = graph.shape(n.name);
      return s.length === 3 && s[1] * s[2] > 1 && !NOT_A_LAYER.has(n.op);
    })
    .map((n) => n.name);
}

export const gradCam: MethodDefinition = {
  name: 'grad-cam',
  description: "a layer's activations weighted by their mean gradient, upsampled (Captum LayerGradCam)",
  params: ['layer'],
  resolve: (options, { graph, inputShape }) => {
    if (options.layer !== undefined && typeof options.layer !== 'string') fail('BAD_OPTION', `layer must be a node name, got ${JSON.stringify(options.layer)}`);
    const layer = (options.layer as string | undefined) ?? defaultCamLayer(graph);
    const shape = graph.shapes.get(layer);
    if (!shape || !graph.upstream(graph.logitsName).some((n) => n.name === layer)) {
      const some = camLayers(graph).slice(-5);
      fail('BAD_OPTION', `grad-cam layer "${layer}" is not a node feeding the logits (BatchNorm is folded into the layer before it); the last map layers are ${some.map((n) => `"${n}"`).join(', ')}`);
    }
    if (shape.length !== 3) fail('BAD_OPTION', `grad-cam layer "${layer}" gives ${shape.join(' x ')}, not a map C x h x w`);
    const [C, h, w] = shape;
    const [, H, W] = inputShape;
    return {
      method: 'grad-cam',
      settings: { layer },
      shading: 'positive',
      findsTargets: true,
      run: async (passes, x, batch, targets) => {
        const { activation, gradient, ...outputs } = await passes.layerGradient(x, batch, targets, layer);
        const cam = new Float32Array(batch * h * w);
        const hw = h * w;
        for (let b = 0; b < batch; b++) {
          const map = new Float64Array(hw);
          for (let c = 0; c < C; c++) {
            const at = (b * C + c) * hw;
            let mean = 0;
            for (let i = 0; i < hw; i++) mean += gradient[at + i];
            mean /= hw;
            for (let i = 0; i < hw; i++) map[i] += mean * activation[at + i];
          }
          for (let i = 0; i < hw; i++) cam[b * hw + i] = Math.max(map[i], 0);
        }
        return { attribution: resizeBilinear(cam, batch, h, w, H, W), cam, camShape: [h, w], outputs };
      },
    };
  },
};
