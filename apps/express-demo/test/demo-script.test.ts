import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// `pnpm demo` end to end: scripts/demo.mjs starts dist/main.js (turbo builds it before tests;
// by hand: `npx turbo run build --filter=@sluice/express-demo...`).
const root = fileURLToPath(new URL('../../../', import.meta.url));
const main = fileURLToPath(new URL('../dist/main.js', import.meta.url));

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['scripts/demo.mjs', ...args],
      { cwd: root, timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error ? Number((error as { code?: number }).code ?? 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe('scripts/demo.mjs against the express demo', () => {
  it('starts the built server, bursts, prints the table and exits 0', async () => {
    expect(existsSync(main), `${main} is missing: build the demo first`).toBe(true);
    const { code, stdout, stderr } = await run(['--requests', '20', '--ms', '200']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toMatch(/listening on http:\/\/127\.0\.0\.1:\d+/);
    expect(stdout).toMatch(/live dashboard: http:\/\/127\.0\.0\.1:\d+\/dashboard\n/);
    // 4 at once, 8 after waiting (200 ms each: the last waits 400 ms < 1000), 8 shed.
    expect(stdout).toMatch(/200 admitted at once\s+4\s/);
    expect(stdout).toMatch(/200 admitted after queueing\s+8\s/);
    expect(stdout).toMatch(/503 queue_full\s+8\s/);
    expect(stdout).toMatch(/highest in-flight \(GET \/stats -> work\.maxInUse\): 4 of 4/);
    expect(stdout).toMatch(/#6\s+429/);
  });

  it('--keep leaves the server up after the report, its dashboard URL live, until SIGINT', async () => {
    const child = spawn(
      process.execPath,
      ['scripts/demo.mjs', '--keep', '--requests', '4', '--ms', '10'],
      { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      let stdout = '';
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
          stdout += chunk;
          const match = /The server keeps running: open (\S+)/.exec(stdout);
          if (match) resolve(match[1]!);
        });
        child.once('exit', (code) => reject(new Error(`exited with ${code}: ${stdout}`)));
      });
      expect(stdout).toContain(`live dashboard: ${url}\n`);
      const page = await fetch(url);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<title>sluice dashboard</title>');
      child.kill('SIGINT');
      expect(await exited).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('refuses an unknown framework', async () => {
    const { code, stderr } = await run(['--framework', 'koa']);
    expect(code).toBe(1);
    expect(stderr).toContain('--framework must be one of express, hono, nestjs');
  });
});
