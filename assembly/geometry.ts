// The geometry block the engine writes: its slots (G_*, GEOM_SLOTS) are generated with the TypeScript
// side's from scripts/kernel-constants.mjs.
export { G_BATCH, G_CIN, G_H, G_W, G_COUT, G_HO, G_WO, G_KH, G_KW, G_SH, G_SW, G_PT, G_PL, G_DH, G_DW, G_TW, G_TB, G_RELU, G_RELU_TOP, G_GAMMA_W, G_GAMMA_B, G_EPI, G_EPI_OPERAND, G_EPI_EPS, G_LAYOUT, G_SPLIT, G_CHUNKS, GEOM_SLOTS } from './constants.generated';

@inline export function gi(geom: usize, slot: i32): i32 {
  return load<i32>(geom + (<usize>slot << 2));
}
@inline export function gf(geom: usize, slot: i32): f32 {
  return load<f32>(geom + (<usize>slot << 2));
}
@inline export function align16(p: usize): usize {
  return (p + 15) & ~(<usize>15);
}

