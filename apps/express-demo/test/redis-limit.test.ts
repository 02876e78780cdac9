import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { RedisKeyedTokenBucket, RedisStore } from '@sluice/redis';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisServer, startRedisServer } from '../../../scripts/redis-server.mjs';
import { createApp } from '../src/app.js';

// The demo with /api/hello's limit in Redis (what REDIS_URL turns on), over both clients: the
// same 429s as in memory, and 503 `unavailable` with Retry-After when Redis stops answering.
const COMMAND_TIMEOUT = 200;

const clients = [
  { library: 'node-redis', create: (url: string) => createClient({ url }) },
  { library: 'ioredis', create: (url: string) => new Redis(url, { lazyConnect: true }) },
] as const;

describe.each(clients)('express demo, /api/hello limited in Redis over $library', ({ create }) => {
  let redis: RedisServer;
  let store: RedisStore;
  let server: http.Server;
  let base: string;

  beforeAll(async () => {
    redis = await startRedisServer();
    store = new RedisStore({
      client: create(redis.url),
      commandTimeout: COMMAND_TIMEOUT,
      breaker: { threshold: 3, coolDown: 300 },
    });
    const hello = new RedisKeyedTokenBucket(store, {
      name: 'hello',
      capacity: 5,
      refillPerSecond: 1,
    });
    server = http.createServer(createApp({ hello })).listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    redis?.resume();
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    await store?.close();
    await redis?.stop();
  });

  async function hello() {
    const started = performance.now();
    const response = await fetch(`${base}/api/hello`);
    const body = (await response.json()) as { reason?: string };
    return {
      status: response.status,
      headers: response.headers,
      body,
      ms: performance.now() - started,
    };
  }

  it('5 per client, then 429 rate_limited; with Redis stopped 503 unavailable; back by itself', async () => {
    // The first decision may wait for the connection and the script load: retry it (bounded).
    let first = await hello();
    for (let i = 0; i < 10 && first.status !== 200; i++) first = await hello();
    expect(first.status).toBe(200);
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await hello()).status);
    expect(statuses).toEqual([200, 200, 200, 200, 429]);

    redis.pause();
    try {
      for (let i = 0; i < 4; i++) {
        const reply = await hello();
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
    let back = await hello();
    for (let i = 0; i < 50 && back.status === 503; i++) {
      await new Promise((r) => setTimeout(r, 100));
      back = await hello();
    }
    expect([200, 429]).toContain(back.status);
  });
});
