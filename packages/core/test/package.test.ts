// Packs @sluice/core as npm would publish it, installs the tarball into a scratch project and
// loads it there from ESM and from CJS: what users get, not what the workspace resolves.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');
let scratch: string;
let installed: string;

function run(file: string): unknown {
  const out = execFileSync(process.execPath, [file], {
    cwd: scratch,
    encoding: 'utf8',
    timeout: 15_000,
  });
  return JSON.parse(out);
}

beforeAll(() => {
  const built = ['index', 'http'].flatMap((name) =>
    ['.js', '.cjs', '.d.ts', '.d.cts'].map((ext) => `dist/${name}${ext}`),
  );
  for (const file of built) {
    if (!existsSync(join(packageDir, file))) {
      throw new Error(
        `packages/core/${file} is missing: build first (\`npx tsup\` in packages/core, or \`pnpm build\`)`,
      );
    }
  }
  scratch = mkdtempSync(join(tmpdir(), 'sluice-pack-'));
  const packed = execFileSync(
    'npm',
    ['pack', '--json', '--ignore-scripts', '--pack-destination', scratch],
    { cwd: packageDir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 60_000 },
  );
  const [{ filename }] = JSON.parse(packed) as [{ filename: string }];
  // Core has no dependencies, so installing is unpacking: no network, no registry.
  installed = join(scratch, 'node_modules', '@sluice', 'core');
  mkdirSync(installed, { recursive: true });
  execFileSync('tar', ['-xzf', join(scratch, filename), '-C', installed, '--strip-components=1']);
  writeFileSync(join(scratch, 'package.json'), JSON.stringify({ name: 'scratch', private: true }));
}, 60_000);

afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe('the packed @sluice/core', () => {
  it('has a publishable package.json: no workspace: ranges, no dependencies', () => {
    const text = readFileSync(join(installed, 'package.json'), 'utf8');
    expect(text).not.toContain('workspace:');
    const manifest = JSON.parse(text);
    expect(manifest.name).toBe('@sluice/core');
    expect(Object.keys(manifest.dependencies ?? {})).toEqual([]);
    expect(manifest.private).not.toBe(true);
  });

  it('ships every file its exports point at, types first in each branch', () => {
    const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8'));
    for (const entry of ['.', './http']) {
      for (const condition of ['import', 'require']) {
        const branch = manifest.exports[entry][condition];
        expect(Object.keys(branch)[0]).toBe('types');
        for (const target of Object.values(branch) as string[]) {
          expect(existsSync(join(installed, target)), `${entry} ${condition} -> ${target}`).toBe(
            true,
          );
        }
      }
    }
    expect(existsSync(join(installed, 'README.md'))).toBe(true);
    // Sources and tests stay out of the tarball.
    expect(existsSync(join(installed, 'src'))).toBe(false);
    expect(existsSync(join(installed, 'test'))).toBe(false);
  });

  it('works from ESM: import @sluice/core and @sluice/core/http', () => {
    writeFileSync(
      join(scratch, 'esm.mjs'),
      `
import { Semaphore, TokenBucket, TimeoutError, SluiceError } from '@sluice/core';
import { rejection, rejectionReasonOf } from '@sluice/core/http';
import { createRequire } from 'node:module';

const sem = new Semaphore(2);
let active = 0, most = 0;
await Promise.all(Array.from({ length: 6 }, () => sem.run(async () => {
  most = Math.max(most, ++active);
  await new Promise((r) => setTimeout(r, 5));
  active--;
})));
const bucket = new TokenBucket({ capacity: 2, refillPerSecond: 1 });
const takes = [bucket.tryTake().ok, bucket.tryTake().ok, bucket.tryTake().ok];
// The CJS copy of the errors is another class; the http entry still recognises it.
const cjs = createRequire(import.meta.url)('@sluice/core');
const foreign = new cjs.TimeoutError(5);
console.log(JSON.stringify({
  most,
  available: sem.available,
  takes,
  status: rejection({ reason: 'rate_limited', retryAfterMs: 1500 }).status,
  subclass: new TimeoutError(1) instanceof SluiceError,
  crossFormat: foreign instanceof TimeoutError,
  reason: rejectionReasonOf(foreign),
}));
`,
    );
    expect(run('esm.mjs')).toEqual({
      most: 2,
      available: 2,
      takes: [true, true, false],
      status: 429,
      subclass: true,
      crossFormat: false,
      reason: 'queue_timeout',
    });
  });

  it('works from CJS: require @sluice/core and @sluice/core/http', () => {
    writeFileSync(
      join(scratch, 'cjs.cjs'),
      `
const { Semaphore, TokenBucket, QueueFullError } = require('@sluice/core');
const { rejection, rejectionReasonOf } = require('@sluice/core/http');

(async () => {
  const sem = new Semaphore(1, { maxWaiting: 0 });
  const permit = sem.tryAcquire();
  const refused = await sem.acquire().catch((e) => e);
  permit.release();
  const bucket = new TokenBucket({ capacity: 1, refillPerSecond: 1000 });
  bucket.tryTake();
  await bucket.take();
  const r = rejection({ reason: rejectionReasonOf(refused), retryAfterMs: 0 });
  console.log(JSON.stringify({
    refused: refused instanceof QueueFullError,
    available: sem.available,
    status: r.status,
    retryAfter: r.headers['Retry-After'],
    type: r.headers['Content-Type'],
  }));
})();
`,
    );
    expect(run('cjs.cjs')).toEqual({
      refused: true,
      available: 1,
      status: 503,
      retryAfter: '1',
      type: 'application/problem+json',
    });
  });
});
