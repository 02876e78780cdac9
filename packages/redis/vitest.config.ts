import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Tests run against core's source, so they need no build; the longer specifier comes first.
const core = (path: string) => fileURLToPath(new URL(`../core/src/${path}`, import.meta.url));

export default defineConfig({
  resolve: {
    alias: [
      { find: /^@sluice\/core\/http$/, replacement: core('http/index.ts') },
      { find: /^@sluice\/core$/, replacement: core('index.ts') },
      {
        find: /^@sluice\/express$/,
        replacement: fileURLToPath(new URL('../express/src/index.ts', import.meta.url)),
      },
    ],
  },
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
