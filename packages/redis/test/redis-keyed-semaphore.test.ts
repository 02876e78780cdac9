// RedisKeyedSemaphore over both clients, and the whenUnavailable modes of RedisSemaphore.
import { limiterKindOf, TimeoutError, UnavailableError } from '@sluice/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  RedisKeyedSemaphore,
  RedisSemaphore,
  RedisStore,
  type WhenUnavailable,
} from '../src/index.js';
import {
  clientLibraries,
  eventually,
  keysWithTtl,
  startRedis,
  type TestRedis,
} from './redis-server.js';

let redis: TestRedis;
const stores: RedisStore[] = [];
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
let names = 0;
const uniqueName = () => `k${++names}`;

beforeAll(async () => {
  redis = await startRedis();
  process.on('unhandledRejection', onUnhandled);
});
afterEach(async () => {
  redis.resume();
  await Promise.all(stores.splice(0).map((s) => s.close()));
});
afterAll(async () => {
  process.off('unhandledRejection', onUnhandled);
  await redis?.stop();
  expect(unhandled).toEqual([]);
});

describe.each(clientLibraries)('over $library', (library) => {
  function newStore(whenUnavailable: WhenUnavailable = 'reject') {
    const store = new RedisStore({
      client: library.create(redis.url),
      commandTimeout: 150,
      whenUnavailable,
    });
    stores.push(store);
    return store;
  }

  it('limits each key on its own, with a capacity per key, and forgets idle keys', async () => {
    const name = uniqueName();
    const keyed = new RedisKeyedSemaphore<string>(newStore(), {
      name,
      capacity: (key) => (key === 'big' ? 3 : 1),
    });
    expect(limiterKindOf(keyed)).toBe('keyed-limiter');
    const small = await keyed.acquire('small');
    expect(await keyed.acquire('small', { timeout: 0 }).catch((e) => e)).toBeInstanceOf(
      TimeoutError,
    );
    const big = await Promise.all([1, 2, 3].map(() => keyed.acquire('big')));
    expect(await keyed.stats('big')).toMatchObject({ capacity: 3, inUse: 3, available: 0 });
    expect(await keyed.stats('small')).toMatchObject({ capacity: 1, inUse: 1 });
    expect(keyed.size).toBe(2);
    const queued = keyed.acquire('small');
    await eventually(async () => (await keyed.stats('small')).waiting === 1, 2000);
    small.release();
    (await queued).release();
    for (const p of big) p.release();
    expect(keyed.size).toBe(0);
    expect(await keyed.acquire('big', { weight: 4 }).catch((e) => e)).toBeInstanceOf(RangeError);
    await expect(keyed.acquire('a{b}')).rejects.toThrow(/`key`/);
    await expect(keyed.acquire('x', { weight: 0 })).rejects.toThrow(/`weight`/);
    // In Redis too: every key has a TTL, and once idle they are gone.
    await eventually(async () => (await keyed.stats('big')).inUse === 0, 2000);
    for (const ttl of (await keysWithTtl(redis.admin, `sluice:{${name}}`)).values())
      expect(ttl).not.toBe(-1); // -1: no TTL (0 or -2: expiring or gone between SCAN and PTTL)
    await new Promise((r) => setTimeout(r, 1100));
    expect((await keysWithTtl(redis.admin, `sluice:{${name}}`)).size).toBe(0);
  });

  it('a release wakes the waiter of that key in another process by message (one channel per limiter and store)', async () => {
    const name = uniqueName();
    const here = new RedisKeyedSemaphore(newStore(), { name, capacity: 1 });
    const there = new RedisKeyedSemaphore(newStore(), { name, capacity: 1 });
    const other = await there.acquire('b'); // another key, waiting on the same channel
    const otherWaiter = here.acquire('b');
    const held = await here.acquire('a');
    const waiting = there.acquire('a');
    await eventually(async () => (await here.stats('a')).waiting === 1, 3000);
    await new Promise((r) => setTimeout(r, 1100)); // the waiter's poll has backed off to 1 s
    const released = performance.now();
    held.release();
    const permit = await waiting;
    expect(performance.now() - released).toBeLessThan(500);
    permit.release();
    other.release();
    (await otherWaiter).release();
    // Each store listens on its own channel of the limiter, whatever the number of keys.
    expect(
      ((await redis.admin.call('PUBSUB', 'CHANNELS', `sluice:{${name}}:wake:*`)) as unknown[])
        .length,
    ).toBe(2);
  });

  it('run() per key passes the lease signal and releases', async () => {
    const keyed = new RedisKeyedSemaphore(newStore(), { name: uniqueName(), capacity: 1 });
    expect(await keyed.run('t1', (signal) => signal.aborted)).toBe(false);
    await expect(keyed.run('t1', () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(keyed.size).toBe(0);
    expect(() => new RedisKeyedSemaphore(newStore(), { name: 'x', capacity: 0 })).toThrow(
      /`capacity`/,
    );
  });

  it("whenUnavailable 'reject' / 'allow' / 'local' with Redis paused", async () => {
    const name = uniqueName();
    const reject = new RedisSemaphore(newStore('reject'), { name, capacity: 1 });
    const allow = new RedisSemaphore(newStore('allow'), { name, capacity: 1 });
    const local = new RedisSemaphore(newStore('local'), { name, capacity: 1 });
    for (const sem of [reject, allow, local]) (await sem.acquire()).release();
    redis.pause(); // the last release may well be in flight: it must still be confirmed
    try {
      expect(await reject.acquire().catch((e) => e)).toBeInstanceOf(UnavailableError);
      const a = await allow.acquire();
      const b = await allow.acquire();
      expect([a.degraded, a.fence, b.degraded]).toEqual([true, '', true]);
      const l = await local.acquire();
      expect(l.degraded).toBe(true);
      // The local fallback is an in-memory semaphore of the same capacity.
      expect(await local.acquire({ timeout: 300 }).catch((e) => e)).toBeInstanceOf(TimeoutError);
      l.release();
      (await local.acquire({ timeout: 300 })).release();
      a.release();
      b.release();
    } finally {
      redis.resume();
    }
    // Back to Redis, with nothing left over: the warm-up releases that ran late (and changed
    // nothing) were sent again until confirmed.
    // (The breaker may be open for its cool-down first.)
    const started = performance.now();
    let back: Awaited<ReturnType<RedisSemaphore['acquire']>> | undefined;
    for (let i = 0; i < 30 && back === undefined; i++) {
      back = await reject.acquire({ timeout: 3000 }).catch(async (e) => {
        expect(e).toBeInstanceOf(UnavailableError);
        await new Promise((r) => setTimeout(r, 100));
        return undefined;
      });
    }
    expect(back?.degraded).toBe(false);
    expect(performance.now() - started).toBeLessThan(3000);
    back?.release();
  });
});
