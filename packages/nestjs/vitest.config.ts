import { fileURLToPath } from 'node:url';
import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

const core = (path: string) => fileURLToPath(new URL(`../core/src/${path}`, import.meta.url));

// SLUICE_NEST_DIR=<a node_modules folder with another Nest major> runs the suite against it,
// e.g. Nest 11: `npm i @nestjs/common@11 @nestjs/core@11 @nestjs/platform-express@11
// @nestjs/platform-fastify@11 reflect-metadata rxjs` in a scratch folder.
const nestDir = process.env.SLUICE_NEST_DIR;
const nest = nestDir
  ? ['common', 'core', 'platform-express', 'platform-fastify'].map((name) => ({
      find: new RegExp(`^@nestjs/${name}$`),
      replacement: `${nestDir}/@nestjs/${name}/index.js`,
    }))
  : [];

export default defineConfig({
  // vitest's own transform drops decorator metadata; SWC emits it, as tsc does for Nest apps.
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
      { find: /^@sluice\/core\/http$/, replacement: core('http/index.ts') },
      { find: /^@sluice\/core$/, replacement: core('index.ts') },
      ...nest,
    ],
  },
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // The dist test runs Node on the built package, which resolves the installed Nest.
    ...(nestDir ? { exclude: ['test/dist.test.ts', '**/node_modules/**'] } : {}),
    testTimeout: 20_000,
    hookTimeout: 30_000,
  },
});
