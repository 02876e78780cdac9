import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const script = fileURLToPath(new URL('../src/inject/nestjs-guard-loop.js', import.meta.url));

describe('nestjs-guard-loop', () => {
  it.each(['fastify', 'express'])(
    'runs the guard against the no-op on %s and gives every permit back',
    async (platform) => {
      const { stdout } = await run(process.execPath, ['--expose-gc', script], {
        cwd: fileURLToPath(new URL('..', import.meta.url)),
        env: { ...process.env, N: '200', ROUNDS: '2', PLATFORM: platform },
      });
      // It throws (exit code 1) if a permit leaked or the guard did not answer true at once.
      expect(stdout).toMatch(
        new RegExp(`^ConcurrencyGuard \\(${platform}\\) over a no-op guard: [+−]\\d+ ns`),
      );
    },
    30_000,
  );
});
