import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['spec/**/*.spec.ts'],
    setupFiles: ['spec/setup.ts'],
    // Two files at once: Vitest's default is one fewer than the cores, so one at a time on CI's two
    // cores. Most files run one thread of JavaScript or wasm (decoding, the float64 reference, one-thread
    // explanations), so a second file fills the idle core: the whole suite took 816 s one file at a
    // time on this machine, 373 s two at a time (issue 27 item 8).
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
