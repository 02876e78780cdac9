// The demo with /api/hello's limit in Redis (what REDIS_URL turns on): the module's named rate
// limiter `hello` is a RedisKeyedTokenBucket. Over both clients: the same 429s as in memory,
// and 503 `unavailable` with Retry-After when Redis stops answering.
import 'reflect-metadata';
import { once } from 'node:events';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { RedisKeyedTokenBucket, RedisStore } from '@sluice/redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  clientLibraries,
  startRedis,
  type TestRedis,
} from '../../../packages/redis/test/redis-server.js';
import { AppModule } from '../src/app.module.js';
import { type RunningDemo, startMain } from './start-main.js';

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

/** Asks until an answer is not 503 (the first decision may wait for the connection; bounded). */
async function firstDecision(base: string) {
  let reply = await hello(base);
  for (let i = 0; i < 30 && reply.status === 503; i++) {
    await new Promise((r) => setTimeout(r, 100));
    reply = await hello(base);
  }
  return reply;
}

describe.each(clientLibraries)(
  'nestjs demo, /api/hello limited in Redis over $library',
  ({ create }) => {
    let store: RedisStore;
    let app: INestApplication;
    let appClosed = false;
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
      app = await NestFactory.create(AppModule.forRoot({ hello: limiter, store }), {
        logger: false,
      });
      await app.listen(0, '127.0.0.1');
      base = `http://127.0.0.1:${app.getHttpServer().address().port}`;
    });

    afterAll(async () => {
      redis.resume();
      if (!appClosed) await app?.close();
      await store?.close();
    });

    it('5 per client, then 429 rate_limited as in memory; with Redis stopped 503 unavailable; back by itself', async () => {
      const first = await firstDecision(base);
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
      expect(refused.headers.get('ratelimit')).toMatch(/^"rate-limit";r=0;t=\d+$/);
      expect(refused.body).toMatchObject({ status: 429, reason: 'rate_limited' });

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
      expect([200, 429]).toContain((await firstDecision(base)).status);
    });

    it('the module closes the store when the application shuts down', async () => {
      expect(store.closed).toBe(false);
      appClosed = true;
      await app.close();
      expect(store.closed).toBe(true);
    });
  },
);

describe('dist/main.js with REDIS_URL', () => {
  it('two instances on one Redis share one limit of 5', async () => {
    await redis.admin.flushall();
    const instances: RunningDemo[] = [];
    try {
      instances.push(await startMain({ REDIS_URL: redis.url }));
      instances.push(await startMain({ REDIS_URL: redis.url }));
      expect((await firstDecision(instances[0]!.base)).status).toBe(200);
      const statuses = [];
      for (let i = 0; i < 6; i++) statuses.push((await hello(instances[i % 2]!.base)).status);
      // One bucket for both: 4 more admitted in all, then 429 from either instance.
      expect(statuses).toEqual([200, 200, 200, 200, 429, 429]);
    } finally {
      for (const { child } of instances) child.kill('SIGTERM');
      await Promise.all(instances.map(({ child }) => child.exitCode ?? once(child, 'exit')));
    }
  });
});
