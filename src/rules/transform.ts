import type { Transform } from './types.js';

/** The value of transform t at one weight (or bias) w: the single definition every engine follows. */
export function transformValue(t: Transform, w: number): number {
  if (typeof t === 'object') return w + t.gamma * (t.part === '+' ? Math.max(w, 0) : Math.min(w, 0));
  switch (t) {
    case 'w':
      return w;
    case 'w+':
      return w > 0 ? w : 0;
    case 'w-':
      return w < 0 ? w : 0;
    case 'ones':
      return 1;
    case 'w^2':
      return w * w;
  }
}

export function transformKey(t: Transform): string {
  return typeof t === 'object' ? `w${t.part}${t.gamma}` : t;
}
