// Bundles a worker of the multi-process tests once into node_modules (so `redis` and `ioredis`
// resolve from there), to be run by plain node: a TypeScript loader in every worker costs
// seconds of start-up on a busy machine.
import { fileURLToPath } from 'node:url';
import { build } from 'tsup';

export const packageDir = fileURLToPath(new URL('..', import.meta.url));

/** Bundles `test/<name>.ts`; resolves with the path of the bundle. */
export async function bundleWorker(name: string): Promise<string> {
  const outDir = `${packageDir}node_modules/.sluice-test`;
  await build({
    entry: { [name]: `${packageDir}test/${name}.ts` },
    format: ['esm'],
    outDir,
    platform: 'node',
    target: 'node20',
    external: ['redis', 'ioredis'],
    noExternal: ['@sluice/core'],
    esbuildOptions(options) {
      options.alias = { '@sluice/core': `${packageDir}../core/src/index.ts` };
    },
    silent: true,
    dts: false,
    config: false,
    sourcemap: false,
  });
  return `${outDir}/${name}.js`;
}
