import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Tests run against the workspace sources, so they need no build; longer specifiers first.
const src = (path: string) => fileURLToPath(new URL(`../../packages/${path}`, import.meta.url));

export default defineConfig({
  resolve: {
    alias: [
      { find: /^@sluice\/core\/http$/, replacement: src('core/src/http/index.ts') },
      { find: /^@sluice\/core$/, replacement: src('core/src/index.ts') },
      { find: /^@sluice\/hono$/, replacement: src('hono/src/index.ts') },
      { find: /^@sluice\/redis$/, replacement: src('redis/src/index.ts') },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    // One file at a time: the dashboard suite starts a server and Chromium (CI has 2 cores).
    fileParallelism: false,
  },
});
