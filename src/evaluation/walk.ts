/** A metric's perturbation of one image: the images it scores, one after another. */
export interface Walk {
  /** Perturbation steps: steps + 1 images are scored, the first unperturbed. */
  readonly steps: number;
  /** Whether each step changes one small region (then each image is computed from the one before). */
  readonly local: boolean;
  /** Writes the k-th image (k = 0, 1, ..., steps, called in that order: each step adds to the last) into out. */
  write(k: number, out: Float32Array): void;
}
