import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['spec/**/*.spec.ts'],
    setupFiles: ['spec/setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
