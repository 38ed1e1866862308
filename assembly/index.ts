// relprop's WebAssembly kernels. Callers pass raw byte offsets into linear memory (`--bindings raw`,
// `--runtime stub`): the TypeScript engine owns the memory layout (one arena above heap_base), the
// kernels only compute.

export { conv2d_forward, conv2d_transpose, conv2d_scratch, conv2d_uses_winograd, conv2d_keeps_winograd, conv2d_fuses } from './conv';
export { winograd_weights, winograd_weights_size, winograd_weights_transformed } from './winograd';
export { set_thread } from './thread';
export { depthwise_forward, depthwise_transpose, depthwise_scratch } from './depthwise';
export { activation, activation_gradient } from './activation';
export { linear_forward, linear_transpose } from './linear';
export { maxpool_forward, maxpool_route, avgpool, gap_forward, gap_transpose } from './pool';
export { copy, binary, unary, div_stab, split_sum, gamma_quotients, only_where_positive, relu, relu_mask, channel_affine, pad_crop, sum, min_value, plane_scale, plane_dot, strided_copy } from './elementwise';

/** First byte the engine may use: static data (the GEMM's edge tile) lies below. */
export function heap_base(): usize {
  return __heap_base;
}
