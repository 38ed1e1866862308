import { fail } from '../errors.js';
import type { Shape } from '../graph/shapes.js';

export interface InputShapeOptions {
  /** The whole per-sample input [C, H, W]. */
  inputShape?: readonly [number, number, number];
  /** Height and width (one number: square) for a model that leaves them free; channels from the file. */
  inputSize?: number | readonly [number, number];
}

/** inputSize as [H, W], checked. */
export function inputSizeOf(size: InputShapeOptions['inputSize'], where = 'inputSize'): [number, number] | undefined {
  if (size === undefined) return undefined;
  const hw = typeof size === 'number' ? [size, size] : Array.isArray(size) && size.length === 2 ? [size[0], size[1]] : [];
  if (hw.length !== 2 || !hw.every((d) => Number.isInteger(d) && d >= 1 && d <= 8192)) {
    fail('BAD_OPTION', `${where} must be a height and width from 1 to 8192 (a number, or [H, W]), got ${JSON.stringify(size)}`);
  }
  return hw as [number, number];
}

/**
 * The per-sample input [C, H, W] of a model file whose input may leave dimensions free (PyTorch's
 * dynamic_axes, a TF.js placeholder of -1): `dims` as the file gives them (null: free), the free ones
 * filled from inputShape or inputSize. A size that contradicts a fixed dimension is an error, not a
 * silent resize.
 */
export function resolveInputShape(dims: readonly (number | null)[], options: InputShapeOptions, where: string): Shape {
  const shown = `[${dims.map((d) => d ?? '?').join(', ')}]`;
  const given = options.inputShape ?? withSize(dims, inputSizeOf(options.inputSize), shown, where);
  if (given) {
    dims.forEach((d, i) => {
      if (d !== null && d !== given[i]) {
        fail('BAD_OPTION', `${where}: the input is fixed at ${shown} (C, H, W); ${options.inputShape ? `inputShape [${given}]` : `an input size of ${given[1]}x${given[2]}`} disagrees`);
      }
    });
    return [...given];
  }
  if (dims.some((d) => d === null)) {
    fail('BAD_OPTION', `${where}: the input ${shown} (C, H, W) leaves ${dims[0] === null ? 'its channels' : 'its height and width'} free: give ${dims[0] === null ? 'inputShape [C, H, W]' : 'them (inputSize [H, W]; on the command line --input-size HxW)'}`);
  }
  return dims as number[];
}

function withSize(dims: readonly (number | null)[], hw: [number, number] | undefined, shown: string, where: string): [number, number, number] | undefined {
  if (!hw) return undefined;
  if (dims[0] === null) fail('BAD_OPTION', `${where}: the input ${shown} leaves its channels free too: give inputShape [C, H, W]`);
  return [dims[0], hw[0], hw[1]];
}
