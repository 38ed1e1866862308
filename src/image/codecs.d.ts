// The parts of two untyped decoders that src/image uses.
declare module 'omggif' {
  export class GifReader {
    constructor(bytes: Uint8Array);
    readonly width: number;
    readonly height: number;
    frameInfo(frame: number): { x: number; y: number; width: number; height: number };
    decodeAndBlitFrameRGBA(frame: number, pixels: Uint8Array): void;
  }
  const omggif: { GifReader: typeof GifReader };
  export default omggif;
}

declare module 'pngjs' {
  const pngjs: { PNG: { sync: { read(buffer: Buffer): { width: number; height: number; data: Uint8Array } } } };
  export default pngjs;
}
