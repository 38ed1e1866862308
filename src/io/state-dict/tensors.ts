/** A state dict's tensors by name, as float32 with their shapes (what every reader of the formats gives). */
export type Tensors = Map<string, { shape: number[]; data: Float32Array }>;
