// relprop's WebAssembly kernels. Callers pass raw byte offsets into linear memory (`--bindings raw`,
// `--runtime stub`): the TypeScript engine owns the memory layout, the kernels only compute.

export { dot, memoryPages } from './dot';
