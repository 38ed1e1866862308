// relprop's WebAssembly kernels. Callers pass raw byte offsets into linear memory (`--bindings raw`,
// `--runtime stub`): the TypeScript engine owns the memory layout (one arena above heap_base), the
// kernels only compute.

// The convolutions, one entry per algorithm; which runs, and how its parts split the work, is the
// plan's (src/wasm/conv-plan.ts).
export { conv_gemm_forward, conv_gemm_transpose, conv_gemm_scratch } from './conv';
export { conv_winograd, winograd_scratch, winograd_weights, winograd_weights_size, winograd_weights_transformed } from './winograd';
export { conv_ones_forward, conv_ones_transpose, conv_ones_scratch } from './ones';
export { set_thread } from './thread';
export { depthwise_forward, depthwise_transpose, depthwise_scratch } from './depthwise';
export { activation, activation_gradient } from './activation';
export { linear_forward, linear_transpose } from './linear';
export { gelu, gelu_gradient } from './gelu';
export { softmax, softmax_gradient } from './softmax';
export { layer_norm, layer_norm_gradient } from './layer-norm';
export { maxpool_forward, maxpool_route, avgpool, gap_forward, gap_transpose } from './pool';
export { copy, copy_window, transpose, gather_runs, scatter_runs, binary, unary, div_stab, split_sum, gamma_quotients, only_where_positive, relu, relu_mask, channel_affine, pad_crop, sum, min_value, plane_scale, plane_dot, strided_copy, scale_channels } from './elementwise';

/** First byte the engine may use: static data (the GEMM's edge tile) lies below. */
export function heap_base(): usize {
  return __heap_base;
}
