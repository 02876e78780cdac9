import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// `pnpm demo:fleet` end to end: scripts/demo-fleet.mjs starts a redis-server (installing it
// first if it can, see scripts/ensure-redis.mjs) and three instances of dist/main.js (turbo
// builds it before tests; by hand: `npx turbo run build --filter=@sluice/express-demo...`).
const root = fileURLToPath(new URL('../../../', import.meta.url));
const main = fileURLToPath(new URL('../dist/main.js', import.meta.url));

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['scripts/demo-fleet.mjs', ...args],
      { cwd: root, timeout: 90_000 },
      (error, stdout, stderr) => {
        const code = error ? Number((error as { code?: number }).code ?? 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe('scripts/demo-fleet.mjs: three express demos sharing one limit in Redis', () => {
  it('admits what one limit allows across the three instances, not three times as much', async () => {
    expect(existsSync(main), `${main} is missing: build the demo first`).toBe(true);
    const { code, stdout, stderr } = await run(['--requests', '30']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout.match(/instance \d: express demo listening on/g)).toHaveLength(3);
    const total = /total\s+30\s+(\d+)\s+(\d+)/.exec(stdout);
    expect(total, stdout).not.toBeNull();
    const [admitted, limited] = [Number(total![1]), Number(total![2])];
    // Burst 5 plus at most a token or two refilled while the burst ran.
    expect(admitted).toBeGreaterThanOrEqual(5);
    expect(admitted).toBeLessThanOrEqual(7);
    expect(admitted + limited).toBe(30);
    expect(stdout).toMatch(/admitted\s+429 rate_limited/);
  }, 100_000);

  it('refuses an unknown argument', async () => {
    const { code, stderr } = await run(['--nodes', '3']);
    expect(code).toBe(1);
    expect(stderr).toContain('Unknown argument "--nodes"');
  });
});
