import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    // One file at a time: the dashboard suite starts a server and Chromium (CI has 2 cores).
    fileParallelism: false,
    hookTimeout: 60_000,
  },
});
