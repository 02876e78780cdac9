import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { main, runScript } from './run-script.js';

// `pnpm demo` end to end: scripts/demo.mjs starts dist/main.js (turbo builds it before tests;
// by hand: `npx turbo run build --filter=@sluice/express-demo...`).
const run = (args: string[]) => runScript('scripts/demo.mjs', args);

describe('scripts/demo.mjs against the express demo', () => {
  it('starts the built server, bursts, prints the table and exits 0', async () => {
    expect(existsSync(main), `${main} is missing: build the demo first`).toBe(true);
    const { code, stdout, stderr } = await run(['--requests', '20', '--ms', '200']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toMatch(/listening on http:\/\/127\.0\.0\.1:\d+/);
    // 4 at once, 8 after waiting (200 ms each: the last waits 400 ms < 1000), 8 shed.
    expect(stdout).toMatch(/200 admitted at once\s+4\s/);
    expect(stdout).toMatch(/200 admitted after queueing\s+8\s/);
    expect(stdout).toMatch(/503 queue_full\s+8\s/);
    expect(stdout).toMatch(/highest in-flight \(GET \/stats -> work\.maxInUse\): 4 of 4/);
    expect(stdout).toMatch(/#6\s+429/);
  });

  it('refuses an unknown framework', async () => {
    const { code, stderr } = await run(['--framework', 'koa']);
    expect(code).toBe(1);
    expect(stderr).toContain('--framework must be one of express, hono, nestjs');
  });
});
