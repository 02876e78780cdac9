// The demo with /api/hello's limit in Redis (what REDIS_URL turns on): the shared suite over
// both clients (the same 429s as in memory, 503 `unavailable` while Redis is paused), then
// src/main.ts itself with REDIS_URL.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { type ServerType, serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  expectOneLimitAcross,
  httpRateLimitSuite,
} from '../../../packages/redis/test/http-rate-limit-suite.js';
import { startRedis, type TestRedis } from '../../../packages/redis/test/redis-server.js';
import { createApp } from '../src/app.js';

httpRateLimitSuite('hono demo', '/api/hello', async (hello) => {
  const server: ServerType = serve({
    fetch: createApp({ hello }).fetch,
    port: 0,
    hostname: '127.0.0.1',
  });
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      (server as { closeAllConnections?: () => void }).closeAllConnections?.();
      await new Promise((resolve) => server.close(resolve));
    },
  };
});

describe('main.ts with REDIS_URL', () => {
  const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  /** Starts main.ts as `start` would, on a free port; resolves with its base URL. */
  async function start(
    env: Record<string, string>,
  ): Promise<{ child: ChildProcess; base: string }> {
    const child = spawn(process.execPath, ['--import', 'tsx', main], {
      env: { ...process.env, PORT: '0', ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (chunk) => {
        out += chunk;
        if (out.includes('\n')) resolve(out.split('\n')[0]!);
      });
      child.on('exit', (code) => reject(new Error(`exited with ${code}: ${out}`)));
    });
    expect(line).toMatch(/^listening on \d+$/);
    return { child, base: `http://127.0.0.1:${line.slice('listening on '.length)}` };
  }

  /** The exit code; 'still running' (and the process killed) if it has not exited in `ms`. */
  async function exitCode(child: ChildProcess, ms: number): Promise<number | null | string> {
    if (child.exitCode !== null) return child.exitCode;
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    const [code] = await once(child, 'exit');
    clearTimeout(timer);
    return child.signalCode === 'SIGKILL' ? 'still running' : code;
  }

  it('two instances on one Redis share one limit of 5; SIGTERM closes the store and the process exits', async () => {
    const instances = await Promise.all([
      start({ REDIS_URL: redis.url }),
      start({ REDIS_URL: redis.url }),
    ]);
    try {
      // One bucket for both: 5 admitted in all, then 429 from either instance.
      const first = await expectOneLimitAcross(
        instances.map((instance) => instance.base),
        '/api/hello',
      );
      expect(first.body).toEqual({ hello: 'world', client: '127.0.0.1' });
    } finally {
      for (const { child } of instances) child.kill('SIGTERM');
    }
    // Nothing but the store's connection could keep the process alive after the server closed.
    const codes = await Promise.all(instances.map(({ child }) => exitCode(child, 5000)));
    expect(codes).toEqual([0, 0]);
  });
});
