import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// The smoke test runs against core's source, so it needs no build; the longer specifier first.
const core = (path: string) =>
  fileURLToPath(new URL(`../../packages/core/src/${path}`, import.meta.url));

export default defineConfig({
  resolve: {
    alias: [
      { find: /^@sluice\/core\/http$/, replacement: core('http/index.ts') },
      { find: /^@sluice\/core$/, replacement: core('index.ts') },
    ],
  },
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    testTimeout: 20_000,
  },
});
