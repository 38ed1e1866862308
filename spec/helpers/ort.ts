import * as ort from 'onnxruntime-web';

ort.env.wasm.numThreads = 1;

/** Runs an ONNX model with onnxruntime-web (the independent peer) on an NCHW batch. */
export async function runOrt(bytes: Uint8Array, x: Float32Array, dims: number[], externalData?: { path: string; data: Uint8Array }[]): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'], externalData });
  try {
    const out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', x, dims) });
    return out[session.outputNames[0]].data as Float32Array;
  } finally {
    await session.release();
  }
}
