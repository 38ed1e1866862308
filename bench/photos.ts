// The folder the folder benches explain: the four examples, four copies each, in a fresh temporary folder.
import { copyFileSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const EXAMPLES = ['astronaut.png', 'chelsea.png', 'coffee.png', 'rocket.jpg'];
export const IMAGES = 16;

/** A fresh root (for outputs too) holding `photos/` with the 16 photos. */
export function photoFolder(prefix: string): { root: string; photos: string } {
  const root = mkdtempSync(join(tmpdir(), prefix));
  const photos = join(root, 'photos');
  mkdirSync(photos);
  for (let copy = 0; copy < IMAGES / EXAMPLES.length; copy++) for (const f of EXAMPLES) copyFileSync(join('examples', f), join(photos, `${copy}-${f}`));
  return { root, photos };
}
