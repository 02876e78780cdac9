import { ClosedError, limiterKind, limiterKindOf, TimeoutError } from '@sluice/core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RedisKeyedTokenBucket, RedisStore, RedisTokenBucket } from '../src/index.js';
import { expectNoUnhandledRejections } from './no-unhandled-rejections.js';
import {
  clientLibraries,
  commandCalls,
  keysWithTtl,
  startRedis,
  type TestRedis,
} from './redis-server.js';

let redis: TestRedis;
expectNoUnhandledRejections();

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

let names = 0;
const uniqueName = () => `t${++names}`;

describe.each(clientLibraries)('over $library', ({ create }) => {
  let store: RedisStore;
  beforeEach(async (context) => {
    store = new RedisStore({ client: create(redis.url), prefix: 'sluice' });
    context.onTestFinished(() => store.close());
  });

  it('gives a full burst at once, then refuses with the wait a retry needs', async () => {
    const bucket = new RedisTokenBucket(store, {
      name: uniqueName(),
      capacity: 5,
      refillPerSecond: 10,
    });
    const results = [];
    for (let i = 0; i < 6; i++) results.push(await bucket.tryTake());
    expect(results.slice(0, 5)).toEqual(
      [4, 3, 2, 1, 0].map((remaining) => ({ ok: true, remaining })),
    );
    const last = results[5]!;
    expect(last.ok).toBe(false);
    // One token comes every 100 ms; some of that has passed already.
    if (!last.ok) expect(last.retryAfterMs).toBeGreaterThan(0);
    if (!last.ok) expect(last.retryAfterMs).toBeLessThanOrEqual(100);
  });

  it('takes several tokens at once and refuses more than it can ever hold', async () => {
    const bucket = new RedisTokenBucket(store, {
      name: uniqueName(),
      capacity: 5,
      refillPerSecond: 1,
    });
    expect(await bucket.tryTake(3)).toEqual({ ok: true, remaining: 2 });
    const refused = await bucket.tryTake(3);
    expect(refused.ok).toBe(false);
    if (!refused.ok) expect(refused.retryAfterMs).toBeGreaterThan(900);
    await expect(bucket.tryTake(6)).rejects.toThrow(RangeError);
    await expect(bucket.tryTake(0)).rejects.toThrow(/`tokens`.*positive integer, got 0/);
    await expect(bucket.take(1.5)).rejects.toThrow(RangeError);
  });

  it('keeps one key per bucket whose TTL is the time until full, so a full bucket leaves none', async () => {
    const name = uniqueName();
    const bucket = new RedisTokenBucket(store, { name, capacity: 3, refillPerSecond: 4 });
    expect((await bucket.tryTake(2)).ok).toBe(true);
    const keys = await keysWithTtl(redis.admin, `sluice:{${name}}`);
    expect([...keys.keys()]).toEqual([`sluice:{${name}}:bucket`]);
    const ttl = keys.get(`sluice:{${name}}:bucket`)!;
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(500); // two tokens at 4/s
    // The stored TAT is a whole number of µs, printed without an exponent.
    expect(await redis.admin.get(`sluice:{${name}}:bucket`)).toMatch(/^\d{16}$/);
    await new Promise((r) => setTimeout(r, ttl + 30));
    expect((await keysWithTtl(redis.admin, `sluice:{${name}}`)).size).toBe(0);
  });

  it('works at extreme rates: a billion per second, and one per thousand seconds', async () => {
    const fast = new RedisTokenBucket(store, {
      name: uniqueName(),
      capacity: 1e9,
      refillPerSecond: 1e9,
    });
    for (let i = 0; i < 5; i++) expect((await fast.tryTake()).ok).toBe(true);
    const slow = new RedisTokenBucket(store, {
      name: uniqueName(),
      capacity: 2,
      refillPerSecond: 0.001,
    });
    expect((await slow.tryTake(2)).ok).toBe(true);
    const r = await slow.tryTake();
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.retryAfterMs).toBeGreaterThan(999_000);
  });

  it('decides in exactly one Redis command per tryTake', async () => {
    const bucket = new RedisKeyedTokenBucket(store, {
      name: uniqueName(),
      capacity: 100,
      refillPerSecond: 1,
    });
    await bucket.tryTake('warm-up'); // the first call may load the script
    await redis.admin.config('RESETSTAT');
    for (let i = 0; i < 50; i++) await bucket.tryTake(`k${i % 5}`);
    const info = await redis.admin.info('commandstats');
    // INFO counts the commands a script runs too (TIME, GET, SET); what the client sent is the rest.
    const sent = [...info.matchAll(/cmdstat_(\w+):calls=(\d+)/g)]
      .filter(([, command]) => !['info', 'config', 'time', 'get', 'set'].includes(command!))
      .map(([, command, n]) => [command, Number(n)]);
    expect(sent).toEqual([['evalsha', 50]]);
    expect(await commandCalls(redis.admin, 'evalsha')).toBe(50);
  });

  it('decides concurrent calls in a few scripts, exactly as if they had been sent one by one', async () => {
    const bucket = new RedisKeyedTokenBucket(store, {
      name: uniqueName(),
      capacity: 5,
      refillPerSecond: 0.001,
    });
    await bucket.tryTake('warm-up'); // the first call may load the script
    await redis.admin.config('RESETSTAT');
    // 300 calls in one tick: 'a' eight times among other keys, and more than one batch's worth.
    const keys = Array.from({ length: 300 }, (_, i) => (i % 37 === 0 ? 'a' : `k${i}`));
    const results = await Promise.all(keys.map((key) => bucket.tryTake(key, key === 'a' ? 1 : 2)));
    const forA = results.filter((_, i) => keys[i] === 'a');
    expect(forA).toHaveLength(9);
    // In call order: five grants counting down, then refusals with the wait of the next token.
    expect(forA.slice(0, 5)).toEqual([4, 3, 2, 1, 0].map((remaining) => ({ ok: true, remaining })));
    for (const refused of forA.slice(5)) {
      expect(refused.ok).toBe(false);
      if (!refused.ok) expect(refused.retryAfterMs).toBeGreaterThan(999_000);
    }
    for (const [i, result] of results.entries()) {
      if (keys[i] !== 'a') expect(result).toEqual({ ok: true, remaining: 3 });
    }
    // The first call is sent at once; the 299 asked for while it is in flight go at the end of
    // the tick, at most 128 per script: four scripts for 300 calls.
    expect(await commandCalls(redis.admin, 'evalsha')).toBe(4);
    // A batch mixes take() with tryTake(): the waiter is served in its place in the order.
    const order: string[] = [];
    const name = uniqueName();
    const slow = new RedisTokenBucket(store, { name, capacity: 1, refillPerSecond: 20 });
    await Promise.all([
      slow.tryTake().then((r) => order.push(`try1 ${r.ok}`)),
      slow.take().then(() => order.push('take')),
      slow.tryTake().then((r) => order.push(`try2 ${r.ok}`)),
    ]);
    expect(order).toEqual(['try1 true', 'try2 false', 'take']);
  });

  it('reloads the script by itself after SCRIPT FLUSH: no caller sees NOSCRIPT', async () => {
    const bucket = new RedisTokenBucket(store, {
      name: uniqueName(),
      capacity: 1000,
      refillPerSecond: 1,
    });
    expect((await bucket.tryTake()).ok).toBe(true);
    await redis.admin.script('FLUSH');
    const results = await Promise.all(Array.from({ length: 20 }, () => bucket.tryTake()));
    expect(results.every((r) => r.ok)).toBe(true);
    expect(await bucket.tryTake()).toMatchObject({ ok: true, remaining: 1000 - 22 });
  });

  it('serves take() callers in arrival order; a large waiter is not overtaken by small ones', async () => {
    const bucket = new RedisTokenBucket(store, {
      name: uniqueName(),
      capacity: 2,
      refillPerSecond: 40,
    });
    expect((await bucket.tryTake(2)).ok).toBe(true);
    const order: number[] = [];
    const sizes = [2, 1, 1, 2, 1, 2];
    const started = performance.now();
    const done = sizes.map((n, i) => bucket.take(n).then(() => order.push(i)));
    // Reservations are held: a tryTake now cannot take what the queue was promised.
    expect((await bucket.tryTake()).ok).toBe(false);
    await Promise.all(done);
    expect(order).toEqual([0, 1, 2, 3, 4, 5]);
    // 9 tokens (and the 1 tryTake above did not take any) at 40/s after an empty bucket: the
    // last one cannot have been served before 9/40 s; reservations are never early.
    expect(performance.now() - started).toBeGreaterThanOrEqual(9 * 25 - 5);
  });

  it('take() with a timeout shorter than the wait rejects at once with TimeoutError and reserves nothing', async () => {
    const bucket = new RedisTokenBucket(store, {
      name: uniqueName(),
      capacity: 2,
      refillPerSecond: 2,
    });
    expect((await bucket.tryTake(2)).ok).toBe(true);
    const before = performance.now();
    const error = await bucket.take(1, { timeout: 100 }).catch((e) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(performance.now() - before).toBeLessThan(400); // not the 500 ms wait
    // Nothing was reserved: the wait for one token is still at most 500 ms.
    const r = await bucket.tryTake();
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.retryAfterMs).toBeLessThanOrEqual(500);
    await expect(bucket.take(1, { timeout: 600 })).resolves.toBeUndefined();
  });

  it('an abort during a reserved sleep rejects with the reason and forfeits the tokens', async () => {
    const bucket = new RedisTokenBucket(store, {
      name: uniqueName(),
      capacity: 1,
      refillPerSecond: 5,
    });
    expect((await bucket.tryTake()).ok).toBe(true);
    const controller = new AbortController();
    const waiting = bucket.take(1, { signal: controller.signal });
    await new Promise((r) => setTimeout(r, 50));
    const reason = new Error('client left');
    controller.abort(reason);
    await expect(waiting).rejects.toBe(reason);
    // The aborted caller's slot (200 ms) stays taken: the next one waits behind it (~350 ms).
    const r = await bucket.tryTake();
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.retryAfterMs).toBeGreaterThan(200);
  });

  it('an abort while the decision is in flight rejects at once; a grant that then arrives is forfeited', async () => {
    const bucket = new RedisTokenBucket(store, {
      name: uniqueName(),
      capacity: 1,
      refillPerSecond: 1,
    });
    const controller = new AbortController();
    const reason = new Error('client left');
    const taking = bucket.take(1, { signal: controller.signal });
    controller.abort(reason); // the script was already sent
    await expect(taking).rejects.toBe(reason);
    await new Promise((r) => setTimeout(r, 50));
    expect((await bucket.tryTake()).ok).toBe(false);
  });

  it('an already-aborted signal rejects without asking Redis', async () => {
    const bucket = new RedisTokenBucket(store, {
      name: uniqueName(),
      capacity: 1,
      refillPerSecond: 5,
    });
    await redis.admin.config('RESETSTAT');
    const reason = new Error('gone');
    await expect(bucket.take(1, { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    expect(await commandCalls(redis.admin, 'evalsha')).toBe(0);
  });

  it('keyed: one bucket per key, branded as a RateLimiter', async () => {
    const bucket = new RedisKeyedTokenBucket<string | number>(store, {
      name: uniqueName(),
      capacity: 2,
      refillPerSecond: 1,
    });
    expect(limiterKindOf(bucket)).toBe('rate-limiter');
    expect(bucket[limiterKind]).toBe('rate-limiter');
    expect([bucket.capacity, bucket.refillPerSecond]).toEqual([2, 1]);
    expect(await bucket.tryTake('a', 2)).toEqual({ ok: true, remaining: 0 });
    expect((await bucket.tryTake('a')).ok).toBe(false);
    expect(await bucket.tryTake('b')).toEqual({ ok: true, remaining: 1 });
    expect(await bucket.tryTake(7)).toEqual({ ok: true, remaining: 1 });
    expect((await bucket.tryTake('7')).ok).toBe(true); // keys are strings in Redis
    expect((await bucket.tryTake('7')).ok).toBe(false);
    await expect(bucket.take('b', 1, { timeout: 2000 })).resolves.toBeUndefined();
  });

  it('two stores on one Redis share one limit', async () => {
    const other = new RedisStore({ client: create(redis.url) });
    try {
      const name = uniqueName();
      const a = new RedisKeyedTokenBucket(store, { name, capacity: 4, refillPerSecond: 1 });
      const b = new RedisKeyedTokenBucket(other, { name, capacity: 4, refillPerSecond: 1 });
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).tryTake('client')),
      );
      expect(results.filter((r) => r.ok)).toHaveLength(4);
    } finally {
      await other.close();
    }
  });

  it('rejects with ClosedError once the store is closed; close() twice is one close', async () => {
    const bucket = new RedisTokenBucket(store, {
      name: uniqueName(),
      capacity: 1,
      refillPerSecond: 1,
    });
    const closing = store.close();
    expect(store.close()).toBe(closing);
    await closing;
    expect(store.closed).toBe(true);
    await expect(bucket.tryTake()).rejects.toBeInstanceOf(ClosedError);
    await expect(bucket.take()).rejects.toBeInstanceOf(ClosedError);
  });
});

describe('options', () => {
  const client = clientLibraries[1].create('redis://127.0.0.1:1');

  it('names the option and the value it got', () => {
    expect(() => new RedisStore(undefined as never)).toThrow(/`options` to be an object/);
    expect(() => new RedisStore({ client: {} as never })).toThrow(/`client` to be a node-redis/);
    expect(() => new RedisStore({ client, prefix: 'a{b' })).toThrow(/`prefix`.*"a\{b"/);
    expect(() => new RedisStore({ client, commandTimeout: 0 })).toThrow(
      /`commandTimeout` to be a finite number > 0, got 0/,
    );
    expect(() => new RedisStore({ client, whenUnavailable: 'open' as never })).toThrow(
      /`whenUnavailable` to be one of 'reject', 'allow', 'local', got "open"/,
    );
    expect(() => new RedisStore({ client, breaker: { threshold: 0 } })).toThrow(
      /`breaker.threshold`/,
    );
  });

  it('checks the limiter options', async () => {
    const store = new RedisStore({ client });
    try {
      expect(
        () => new RedisTokenBucket(store, { name: '', capacity: 1, refillPerSecond: 1 }),
      ).toThrow(/`name` to be a non-empty string/);
      expect(
        () => new RedisKeyedTokenBucket(store, { name: 'x', capacity: 0, refillPerSecond: 1 }),
      ).toThrow(/`capacity` to be a positive integer, got 0/);
      expect(
        () => new RedisTokenBucket(store, { name: 'x', capacity: 1, refillPerSecond: -1 }),
      ).toThrow(/`refillPerSecond` to be a finite number > 0, got -1/);
      expect(
        () => new RedisTokenBucket({} as never, { name: 'x', capacity: 1, refillPerSecond: 1 }),
      ).toThrow(/`store` of RedisTokenBucket to be a RedisStore/);
      const bucket = new RedisTokenBucket(store, { name: 'x', capacity: 1, refillPerSecond: 1 });
      await expect(bucket.take(1, { timeout: -1 })).rejects.toThrow(/`timeout`.*got -1/);
      await expect(bucket.take(1, { signal: {} as never })).rejects.toThrow(/`signal`/);
    } finally {
      await store.close();
    }
  });
});
