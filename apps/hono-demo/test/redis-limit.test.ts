import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { type ServerType, serve } from '@hono/node-server';
import { RedisKeyedTokenBucket, RedisStore } from '@sluice/redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  clientLibraries,
  startRedis,
  type TestRedis,
} from '../../../packages/redis/test/redis-server.js';
import { createApp } from '../src/app.js';

// The demo with /api/hello's limit in Redis (what REDIS_URL turns on), over both clients: the
// same 429s as in memory, and 503 `unavailable` with Retry-After when Redis stops answering.
const COMMAND_TIMEOUT = 200;

let redis: TestRedis;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  redis?.resume();
  await redis?.stop();
});

async function hello(base: string) {
  const started = performance.now();
  const response = await fetch(`${base}/api/hello`);
  const body = (await response.json()) as { reason?: string; hello?: string };
  return {
    status: response.status,
    headers: response.headers,
    body,
    ms: performance.now() - started,
  };
}

describe.each(clientLibraries)(
  'hono demo, /api/hello limited in Redis over $library',
  ({ create }) => {
    let store: RedisStore;
    let server: ServerType;
    let base: string;

    beforeAll(async () => {
      await redis.admin.flushall();
      store = new RedisStore({
        client: create(redis.url),
        commandTimeout: COMMAND_TIMEOUT,
        breaker: { threshold: 3, coolDown: 300 },
      });
      const limiter = new RedisKeyedTokenBucket(store, {
        name: 'hello',
        capacity: 5,
        refillPerSecond: 1,
      });
      server = serve({
        fetch: createApp({ hello: limiter }).fetch,
        port: 0,
        hostname: '127.0.0.1',
      });
      await once(server, 'listening');
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });

    afterAll(async () => {
      redis.resume();
      (server as { closeAllConnections?: () => void })?.closeAllConnections?.();
      await new Promise((resolve) => server?.close(resolve));
      await store?.close();
    });

    it('5 per client, then 429 rate_limited as in memory; with Redis stopped 503 unavailable; back by itself', async () => {
      // The first decision may wait for the connection and the script load: retry it (bounded).
      let first = await hello(base);
      for (let i = 0; i < 10 && first.status !== 200; i++) first = await hello(base);
      expect(first.status).toBe(200);
      expect(first.body).toEqual({ hello: 'world', client: '127.0.0.1' });
      const replies = [];
      for (let i = 0; i < 5; i++) replies.push(await hello(base));
      expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 200, 429]);
      const refused = replies[4]!;
      // The same answer as the in-memory limiter's (test/app.test.ts).
      expect(refused.headers.get('content-type')).toBe('application/problem+json');
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(refused.headers.get('ratelimit-policy')).toBe('"rate-limit";q=5;w=5');
      expect(refused.body.reason).toBe('rate_limited');

      redis.pause();
      try {
        for (let i = 0; i < 4; i++) {
          const reply = await hello(base);
          expect(reply.status).toBe(503);
          expect(reply.body.reason).toBe('unavailable');
          expect(Number(reply.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
          expect(reply.headers.get('content-type')).toBe('application/problem+json');
          // Within the command timeout (plus an HTTP round trip on a busy machine), never hanging.
          expect(reply.ms).toBeLessThan(COMMAND_TIMEOUT + 200);
        }
      } finally {
        redis.resume();
      }
      let back = await hello(base);
      for (let i = 0; i < 50 && back.status === 503; i++) {
        await new Promise((r) => setTimeout(r, 100));
        back = await hello(base);
      }
      expect([200, 429]).toContain(back.status);
    });
  },
);

describe('main.ts with REDIS_URL', () => {
  const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));

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
    await redis.admin.flushall();
    const instances = await Promise.all([
      start({ REDIS_URL: redis.url }),
      start({ REDIS_URL: redis.url }),
    ]);
    try {
      // A first decision, retried while the instance's connection comes up (bounded).
      let first = await hello(instances[0]!.base);
      for (let i = 0; i < 20 && first.status === 503; i++) {
        await new Promise((r) => setTimeout(r, 100));
        first = await hello(instances[0]!.base);
      }
      expect(first.status).toBe(200);
      const statuses = [];
      for (let i = 0; i < 6; i++) statuses.push((await hello(instances[i % 2]!.base)).status);
      // One bucket for both: 4 more admitted in all, then 429 from either instance.
      expect(statuses).toEqual([200, 200, 200, 200, 429, 429]);
    } finally {
      for (const { child } of instances) child.kill('SIGTERM');
    }
    // Nothing but the store's connection could keep the process alive after the server closed.
    const codes = await Promise.all(instances.map(({ child }) => exitCode(child, 5000)));
    expect(codes).toEqual([0, 0]);
  });
});
