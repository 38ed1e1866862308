// Geometry block written by the engine: i32 slots, then f32 gammas, then the epilogue (assembly/epilogue.ts):
// its mode, its operand's address, and its epsilon (f32). Must match src/wasm/codes.ts.
export const G_BATCH = 0, G_CIN = 1, G_H = 2, G_W = 3, G_COUT = 4, G_HO = 5, G_WO = 6, G_KH = 7, G_KW = 8;
export const G_SH = 9, G_SW = 10, G_PT = 11, G_PL = 12, G_DH = 13, G_DW = 14, G_TW = 15, G_TB = 16, G_RELU = 17;
export const G_GAMMA_W = 18, G_GAMMA_B = 19;
export const G_EPI = 20, G_EPI_OPERAND = 21, G_EPI_EPS = 22;
export const GEOM_SLOTS = 23;

@inline export function gi(geom: usize, slot: i32): i32 {
  return load<i32>(geom + (<usize>slot << 2));
}
@inline export function gf(geom: usize, slot: i32): f32 {
  return load<f32>(geom + (<usize>slot << 2));
}
@inline export function align16(p: usize): usize {
  return (p + 15) & ~(<usize>15);
}

