// The demo with /api/hello's limit in Redis (what REDIS_URL turns on): the module's named rate
// limiter `hello` is a RedisKeyedTokenBucket. The shared suite over both clients (the same
// 429s as in memory, 503 `unavailable` while Redis is paused), the store's shutdown, then
// dist/main.js itself with REDIS_URL.
import 'reflect-metadata';
import { once } from 'node:events';
import { NestFactory } from '@nestjs/core';
import { RedisKeyedTokenBucket, RedisStore } from '@sluice/redis';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  expectOneLimitAcross,
  firstDecision,
  httpRateLimitSuite,
} from '../../../packages/redis/test/http-rate-limit-suite.js';
import { startRedis, type TestRedis } from '../../../packages/redis/test/redis-server.js';
import { AppModule } from '../src/app.module.js';
import { type RunningDemo, startMain } from './start-main.js';

httpRateLimitSuite('nestjs demo', '/api/hello', async (hello) => {
  const app = await NestFactory.create(AppModule.forRoot({ hello }), { logger: false });
  await app.listen(0, '127.0.0.1');
  return {
    url: `http://127.0.0.1:${app.getHttpServer().address().port}`,
    close: async () => {
      app.getHttpServer().closeAllConnections();
      await app.close();
    },
  };
});

describe('with REDIS_URL', () => {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('the module closes the store when the application shuts down, after the server', async () => {
    const store = new RedisStore({ client: createClient({ url: redis.url }) });
    const hello = new RedisKeyedTokenBucket(store, {
      name: 'hello',
      capacity: 5,
      refillPerSecond: 1,
    });
    const app = await NestFactory.create(AppModule.forRoot({ hello, store }), { logger: false });
    await app.listen(0, '127.0.0.1');
    const url = `http://127.0.0.1:${app.getHttpServer().address().port}/api/hello`;
    expect((await firstDecision(url)).status).toBe(200);
    expect(store.closed).toBe(false);
    app.getHttpServer().closeAllConnections();
    await app.close();
    expect(store.closed).toBe(true);
  });

  it('two dist/main.js on one Redis share one limit of 5', async () => {
    const instances: RunningDemo[] = [];
    try {
      instances.push(await startMain({ REDIS_URL: redis.url }));
      instances.push(await startMain({ REDIS_URL: redis.url }));
      // One bucket for both: 5 admitted in all, then 429 from either instance.
      const first = await expectOneLimitAcross(
        instances.map((instance) => instance.base),
        '/api/hello',
      );
      expect(first.body).toEqual({ hello: 'world', client: '127.0.0.1' });
    } finally {
      for (const { child } of instances) child.kill('SIGTERM');
      await Promise.all(instances.map(({ child }) => child.exitCode ?? once(child, 'exit')));
    }
  });
});
