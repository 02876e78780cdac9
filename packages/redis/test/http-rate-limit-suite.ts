// One suite for every framework adapter whose rateLimit() takes a RedisKeyedTokenBucket as its
// `limiter` (the demos' /api/hello with REDIS_URL): the same 429s as in memory, and 503
// `unavailable` with Retry-After when Redis stops answering, over both clients. It imports no
// adapter: the demos' tests call it with a function that serves the route (see
// apps/hono-demo/test/redis-limit.test.ts), so this package does not depend on them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisKeyedTokenBucket, RedisStore } from '../src/index.js';
import { clientLibraries, startRedis, type TestRedis } from './redis-server.js';

const COMMAND_TIMEOUT = 200;

/** One GET; the body parsed as JSON, and how long the whole answer took. */
export async function timedGet(url: string) {
  const started = performance.now();
  const response = await fetch(url);
  const body = (await response.json()) as { reason?: string; status?: number };
  return {
    status: response.status,
    headers: response.headers,
    body,
    ms: performance.now() - started,
  };
}

/** GETs until the answer is not 503: the first decision may wait for the connection (bounded). */
export async function firstDecision(url: string) {
  let reply = await timedGet(url);
  for (let i = 0; i < 30 && reply.status === 503; i++) {
    await new Promise((r) => setTimeout(r, 100));
    reply = await timedGet(url);
  }
  return reply;
}

/**
 * Asks `path` of each server in turn: with one bucket of 5 shared by all, 5 are admitted in all
 * (the first asked until it decides), then 429 from any of them. Resolves with the first answer.
 */
export async function expectOneLimitAcross(origins: string[], path: string) {
  const first = await firstDecision(`${origins[0]}${path}`);
  expect(first.status).toBe(200);
  const statuses = [];
  for (let i = 0; i < 6; i++) {
    statuses.push((await timedGet(`${origins[(i + 1) % origins.length]}${path}`)).status);
  }
  expect(statuses).toEqual([200, 200, 200, 200, 429, 429]);
  return first;
}

/** A server of one framework: `path` behind `rateLimit({ limiter: hello })`; `url` its origin. */
export type ServeHello = (
  hello: RedisKeyedTokenBucket,
  store: RedisStore,
) => Promise<{ url: string; close(): Promise<void> }>;

/** The limiter is `capacity: 5, refillPerSecond: 1`, named `hello`, as in the demo contract. */
export function httpRateLimitSuite(framework: string, path: string, serve: ServeHello): void {
  describe.each(clientLibraries)(
    `${framework}: ${path} limited in Redis over $library`,
    ({ create }) => {
      let redis: TestRedis;
      let store: RedisStore;
      let server: Awaited<ReturnType<ServeHello>>;

      beforeAll(async () => {
        redis = await startRedis();
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
        server = await serve(hello, store);
      });

      afterAll(async () => {
        redis?.resume();
        await server?.close();
        await store?.close();
        await redis?.stop();
      });

      it('5 per client, then 429 rate_limited as in memory; with Redis stopped 503 unavailable; back by itself', async () => {
        const url = `${server.url}${path}`;
        expect((await firstDecision(url)).status).toBe(200);
        const replies = [];
        for (let i = 0; i < 5; i++) replies.push(await timedGet(url));
        expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 200, 429]);
        // The same answer as the in-memory limiter's, RateLimit headers included.
        const refused = replies[4]!;
        expect(refused.headers.get('content-type')).toBe('application/problem+json');
        expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
        expect(refused.headers.get('ratelimit-policy')).toBe('"rate-limit";q=5;w=5');
        expect(refused.headers.get('ratelimit')).toMatch(/^"rate-limit";r=0;t=\d+$/);
        expect(refused.body).toMatchObject({ status: 429, reason: 'rate_limited' });

        redis.pause();
        try {
          for (let i = 0; i < 4; i++) {
            const reply = await timedGet(url);
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
        expect([200, 429]).toContain((await firstDecision(url)).status);
      });
    },
  );
}
