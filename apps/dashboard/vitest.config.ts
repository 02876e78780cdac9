import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// The tests run against core's sources, so they need no build.
const src = (path: string) => fileURLToPath(new URL(`../../packages/${path}`, import.meta.url));

export default defineConfig({
  resolve: {
    alias: [{ find: /^@sluice\/core$/, replacement: src('core/src/index.ts') }],
  },
  test: {
    include: ['src/**/*.test.ts'],
    testTimeout: 20_000,
  },
});
