import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { main, runScript } from './run-script.js';

// `pnpm demo:fleet` end to end: scripts/demo-fleet.mjs starts a redis-server (installing it
// first if it can, see scripts/ensure-redis.mjs) and three instances of dist/main.js (turbo
// builds it before tests; by hand: `npx turbo run build --filter=@sluice/express-demo...`).
const run = (args: string[]) => runScript('scripts/demo-fleet.mjs', args, 90_000);

describe('scripts/demo-fleet.mjs: three express demos sharing a rate limit and a concurrency limit in Redis', () => {
  it('admits what one limit allows across the three instances, and runs at most 3 at once in all', async () => {
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
    // The shared concurrency limit: all 12 served, never more than 3 at once across the fleet.
    const fleet = /total\s+12\s+(\d+)\s+(\d+)/.exec(stdout);
    expect(fleet, stdout).not.toBeNull();
    expect(Number(fleet![1])).toBe(12);
    expect(Number(fleet![2])).toBeGreaterThanOrEqual(1);
    expect(Number(fleet![2])).toBeLessThanOrEqual(3);
  }, 100_000);

  it('refuses an unknown argument', async () => {
    const { code, stderr } = await run(['--nodes', '3']);
    expect(code).toBe(1);
    expect(stderr).toContain('Unknown argument "--nodes"');
  });
});
