import { fileURLToPath } from 'node:url';
import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

// The contract and dashboard suites run the built server (dist/main.js, tsc with decorator
// metadata). The Redis suites boot Nest in the test process, against the packages' sources:
// vitest's own transform drops decorator metadata, so SWC compiles them, as tsc does.
const src = (path: string) => fileURLToPath(new URL(`../../packages/${path}`, import.meta.url));

export default defineConfig({
  plugins: [
    swc.vite({
      module: { type: 'es6' },
      jsc: {
        parser: { syntax: 'typescript', decorators: true },
        transform: { legacyDecorator: true, decoratorMetadata: true },
        target: 'es2022',
      },
    }),
  ],
  resolve: {
    alias: [
      { find: /^@sluice\/core\/http$/, replacement: src('core/src/http/index.ts') },
      { find: /^@sluice\/core$/, replacement: src('core/src/index.ts') },
      { find: /^@sluice\/nestjs$/, replacement: src('nestjs/src/index.ts') },
      { find: /^@sluice\/redis$/, replacement: src('redis/src/index.ts') },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    // One file at a time: the dashboard suite starts a server and Chromium (CI has 2 cores).
    fileParallelism: false,
    hookTimeout: 60_000,
  },
});
