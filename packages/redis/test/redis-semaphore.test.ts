// The core Semaphore's behaviour cases, run against RedisSemaphore and RedisLock on a real
// redis-server, over both client libraries; plus leases, fences and wake-ups.
import {
  ClosedError,
  limiterKind,
  limiterKindOf,
  QueueFullError,
  TimeoutError,
} from '@sluice/core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LeaseLostError, RedisLock, RedisSemaphore, RedisStore } from '../src/index.js';
import {
  clientLibraries,
  eventually,
  keysWithTtl,
  startRedis,
  type TestRedis,
} from './redis-server.js';

let redis: TestRedis;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);

beforeAll(async () => {
  redis = await startRedis();
  process.on('unhandledRejection', onUnhandled);
});
afterAll(async () => {
  process.off('unhandledRejection', onUnhandled);
  await redis?.stop();
  expect(unhandled).toEqual([]);
});

let names = 0;
const uniqueName = () => `s${++names}`;
const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

describe.each(clientLibraries)('over $library', ({ create }) => {
  let store: RedisStore;
  const errors: unknown[] = [];
  beforeEach(async (context) => {
    store = new RedisStore({ client: create(redis.url), onError: (e) => errors.push(e) });
    context.onTestFinished(() => store.close());
  });

  /** A second process, as far as Redis can tell: its own store and connection. */
  function otherStore(): RedisStore {
    const other = new RedisStore({ client: create(redis.url) });
    return other;
  }

  it('carries the limiter brand and validates its options with clear messages', async () => {
    const sem = new RedisSemaphore(store, { name: uniqueName(), capacity: 2 });
    expect(limiterKindOf(sem)).toBe('limiter');
    expect(sem[limiterKind]).toBe('limiter');
    expect(limiterKindOf(new RedisLock(store, { name: uniqueName() }))).toBe('limiter');
    expect(() => new RedisSemaphore(store, { name: 'x', capacity: 0 })).toThrow(
      /`capacity`.*got 0/,
    );
    expect(() => new RedisSemaphore(store, { name: 'a{b}', capacity: 1 })).toThrow(/`name`/);
    expect(() => new RedisSemaphore(store, { name: 'x', capacity: 1, lease: 1.5 })).toThrow(
      /`lease`.*1\.5/,
    );
    expect(() => new RedisSemaphore({} as RedisStore, { name: 'x', capacity: 1 })).toThrow(
      /`store`/,
    );
    await expect(sem.acquire({ weight: 3 })).rejects.toThrow(
      /`weight`.*at most the capacity \(2\), got 3/,
    );
    await expect(sem.acquire({ weight: 0 })).rejects.toThrow(RangeError);
    await expect(sem.acquire({ timeout: -1 })).rejects.toThrow(/`timeout`/);
  });

  it('grants up to capacity, queues the rest in FIFO order, and returns every permit', async () => {
    const name = uniqueName();
    const sem = new RedisSemaphore(store, { name, capacity: 2 });
    const a = await sem.acquire();
    const b = await sem.acquire();
    expect(await sem.stats()).toMatchObject({ capacity: 2, inUse: 2, available: 0, waiting: 0 });
    const order: number[] = [];
    const waits = [0, 1, 2, 3].map((i) =>
      sem.acquire().then((p) => {
        order.push(i);
        return p;
      }),
    );
    await eventually(async () => (await sem.stats()).waiting === 4, 2000);
    a.release();
    b.release();
    const [p0, p1] = await Promise.all(waits.slice(0, 2));
    p0!.release();
    p1!.release();
    for (const p of await Promise.all(waits.slice(2))) p.release();
    expect(order).toEqual([0, 1, 2, 3]);
    await eventually(async () => (await sem.stats()).inUse === 0, 2000);
    expect(await sem.stats()).toMatchObject({
      inUse: 0,
      available: 2,
      waiting: 0,
      acquired: 6,
      maxInUse: 2,
    });
    // Every key has a TTL: nothing is left behind once idle.
    for (const ttl of (await keysWithTtl(redis.admin, `sluice:{${name}}`)).values())
      expect(ttl).not.toBe(-1); // -1: no TTL (0 or -2: expiring or gone between SCAN and PTTL)
    await tick(1100);
    expect((await keysWithTtl(redis.admin, `sluice:{${name}}`)).size).toBe(0);
  });

  it('keeps FIFO across processes, and a heavy head waiter is not overtaken by lighter ones', async () => {
    const name = uniqueName();
    const other = otherStore();
    try {
      const here = new RedisSemaphore(store, { name, capacity: 3 });
      const there = new RedisSemaphore(other, { name, capacity: 3 });
      const held = await here.acquire({ weight: 2 });
      const order: string[] = [];
      const heavy = there.acquire({ weight: 2 }).then((p) => {
        order.push('heavy');
        return p;
      });
      await eventually(async () => (await here.stats()).waiting === 1, 2000);
      const light = here.acquire({ weight: 1 }).then((p) => {
        order.push('light');
        return p;
      });
      await eventually(async () => (await here.stats()).waiting === 2, 2000);
      // One unit is free, but the light waiter stays behind the heavy head.
      await tick(150);
      expect(order).toEqual([]);
      expect(await here.acquire({ timeout: 0 }).catch((e) => e)).toBeInstanceOf(TimeoutError);
      held.release();
      // One release script grants both, heavy first; the two messages reach the two stores in
      // either order, so the grant order is read from the fences.
      const [h, l] = await Promise.all([heavy, light]);
      expect(BigInt(h.fence)).toBeLessThan(BigInt(l.fence));
      h.release();
      l.release();
    } finally {
      await other.close();
    }
  });

  it('answers timeout 0 in one step, and rejects with QueueFullError past maxWaiting', async () => {
    const sem = new RedisSemaphore(store, { name: uniqueName(), capacity: 1, maxWaiting: 1 });
    const p = await sem.acquire({ timeout: 0 });
    const refused = await sem.acquire({ timeout: 0 }).catch((e) => e);
    expect(refused).toBeInstanceOf(TimeoutError);
    const queued = sem.acquire();
    await eventually(async () => (await sem.stats()).waiting === 1, 2000);
    expect(await sem.acquire().catch((e) => e)).toBeInstanceOf(QueueFullError);
    p.release();
    (await queued).release();
    expect(await sem.stats()).toMatchObject({ rejected: 1, timedOut: 1 });
  });

  it('an aborted or timed-out waiter leaves the queue at once; the one behind is served', async () => {
    const sem = new RedisSemaphore(store, { name: uniqueName(), capacity: 1 });
    const held = await sem.acquire();
    const controller = new AbortController();
    const aborted = sem.acquire({ signal: controller.signal });
    const timedOut = sem.acquire({ timeout: 100 });
    const third = sem.acquire();
    await eventually(async () => (await sem.stats()).waiting === 3, 2000);
    const reason = new Error('gone');
    controller.abort(reason);
    await expect(aborted).rejects.toBe(reason);
    await expect(timedOut).rejects.toBeInstanceOf(TimeoutError);
    expect(await eventually(async () => (await sem.stats()).waiting === 1, 2000)).toBe(true);
    held.release();
    (await third).release();
    // An already-aborted signal rejects without touching Redis.
    await expect(sem.acquire({ signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    await eventually(async () => (await sem.stats()).inUse === 0, 2000);
    expect(await sem.stats()).toMatchObject({
      inUse: 0,
      waiting: 0,
      aborted: 2,
      timedOut: 1,
      acquired: 2,
    });
  });

  it('close() rejects its waiters with ClosedError; holders can still release', async () => {
    const sem = new RedisSemaphore(store, { name: uniqueName(), capacity: 1 });
    const held = await sem.acquire();
    const waiting = sem.acquire();
    await eventually(async () => (await sem.stats()).waiting === 1, 2000);
    sem.close('shutdown');
    const error = await waiting.catch((e) => e);
    expect(error).toBeInstanceOf(ClosedError);
    expect(error.cause).toBe('shutdown');
    await expect(sem.acquire()).rejects.toBeInstanceOf(ClosedError);
    await held[Symbol.asyncDispose]();
    expect(await sem.stats()).toMatchObject({ inUse: 0, waiting: 0 });
  });

  it('run() passes the lease signal, releases on success and on error', async () => {
    const sem = new RedisSemaphore(store, { name: uniqueName(), capacity: 1 });
    expect(await sem.run((signal) => (signal instanceof AbortSignal ? 'ok' : 'no'))).toBe('ok');
    await expect(sem.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await sem.run(() => 42, { timeout: 1000 })).toBe(42);
    await eventually(async () => (await sem.stats()).inUse === 0, 2000);
    expect((await sem.stats()).inUse).toBe(0);
  });

  it('release is idempotent, updates local state at once and is confirmed by asyncDispose', async () => {
    const sem = new RedisSemaphore(store, { name: uniqueName(), capacity: 1 });
    {
      await using p = await sem.acquire();
      expect(p.released).toBe(false);
      expect(p.degraded).toBe(false);
    }
    expect((await sem.stats()).inUse).toBe(0);
    const p = await sem.acquire();
    p.release();
    expect(p.released).toBe(true);
    p.release();
    await p[Symbol.asyncDispose]();
    expect((await sem.stats()).inUse).toBe(0);
  });

  it('fences strictly increase across processes, as decimal strings above Redis µs time', async () => {
    const name = uniqueName();
    const other = otherStore();
    try {
      const locks = [new RedisLock(store, { name }), new RedisLock(other, { name })];
      let last = 0n;
      const seconds = (await redis.admin.time())[0]!;
      for (let i = 0; i < 20; i++) {
        const p = await locks[i % 2]!.acquire();
        expect(p.fence).toMatch(/^\d+$/);
        const fence = BigInt(p.fence);
        expect(fence).toBeGreaterThan(last);
        expect(fence).toBeGreaterThanOrEqual(BigInt(seconds) * 1_000_000n);
        last = fence;
        p.release();
      }
    } finally {
      await other.close();
    }
  });

  it('a permit shows only the LeasedPermit API: the lease keeper hooks are not callable by name', async () => {
    const sem = new RedisSemaphore(store, { name: uniqueName(), capacity: 1 });
    const permit = await sem.acquire();
    const names = new Set<string>();
    for (let o: object | null = permit; o !== null && o !== Object.prototype; ) {
      for (const name of Object.getOwnPropertyNames(o)) names.add(name);
      o = Object.getPrototypeOf(o);
    }
    names.delete('constructor');
    expect([...names].sort()).toEqual([
      'degraded',
      'fence',
      'release',
      'released',
      'signal',
      'weight',
    ]);
    permit.release();
    expect(permit.released).toBe(true);
  });

  it('refreshes leases: a holder keeps its permit well past one lease', async () => {
    const sem = new RedisSemaphore(store, { name: uniqueName(), capacity: 1, lease: 300 });
    const p = await sem.acquire();
    await tick(1000);
    expect(p.signal.aborted).toBe(false);
    expect(await sem.acquire({ timeout: 0 }).catch((e) => e)).toBeInstanceOf(TimeoutError);
    p.release();
  });

  it('a lease Redis no longer has aborts the signal on the next refresh, and is never re-acquired', async () => {
    const name = uniqueName();
    const sem = new RedisSemaphore(store, { name, capacity: 1, lease: 600 });
    const p = await sem.acquire();
    await redis.admin.del(`sluice:{${name}}:holders`); // as if Redis lost it
    expect(await eventually(() => p.signal.aborted, 2000)).toBe(true);
    expect(p.signal.reason).toBeInstanceOf(LeaseLostError);
    expect(await redis.admin.zcard(`sluice:{${name}}:holders`)).toBe(0);
    p.release();
    // The weight it was counted with is not lost with it: with no holder left, used heals to 0.
    const again = await sem.acquire({ timeout: 0 });
    expect(await sem.stats()).toMatchObject({ inUse: 1 });
    again.release();
  });

  it('a signal first read after the lease was lost is already aborted; one read before aborts then (the same object)', async () => {
    const name = uniqueName();
    const sem = new RedisSemaphore(store, { name, capacity: 2, lease: 300 });
    const early = await sem.acquire();
    const late = await sem.acquire();
    const signal = early.signal;
    expect(early.signal).toBe(signal);
    expect(signal.aborted).toBe(false);
    await redis.admin.del(`sluice:{${name}}:holders`); // as if Redis lost both leases
    expect(await eventually(() => signal.aborted, 2000)).toBe(true);
    expect(signal.reason).toBeInstanceOf(LeaseLostError);
    expect(early.signal).toBe(signal);
    // `late` was refreshed in the same batch: its lease is lost too, though nobody listened.
    expect(late.signal.aborted).toBe(true);
    expect(late.signal.reason).toBeInstanceOf(LeaseLostError);
    early.release();
    late.release();
  });

  it('holders with different leases abort each at its own local deadline while Redis cannot confirm them', async () => {
    const short = new RedisSemaphore(store, { name: uniqueName(), capacity: 1, lease: 400 });
    const long = new RedisSemaphore(store, { name: uniqueName(), capacity: 1, lease: 1600 });
    const started = performance.now();
    const [a, b] = await Promise.all([long.acquire(), short.acquire()]);
    const abortedAt = (p: typeof a) =>
      new Promise<number>((r) =>
        p.signal.addEventListener('abort', () => r(performance.now() - started)),
      );
    const [longAt, shortAt] = [abortedAt(a!), abortedAt(b!)];
    redis.pause();
    try {
      expect(await shortAt).toBeLessThan(400);
      expect(a!.signal.aborted).toBe(false);
      expect(await longAt).toBeLessThan(1600);
      expect(await longAt).toBeGreaterThan(800); // not at the short one's deadline
      expect(b!.signal.reason).toBeInstanceOf(LeaseLostError);
      expect(a!.signal.reason).toBeInstanceOf(LeaseLostError);
    } finally {
      redis.resume();
    }
    a!.release();
    b!.release();
  });

  it('keeps a TTL on every key past every deadline in it (keys a script re-creates too), and cuts it once idle', async () => {
    const name = uniqueName();
    const lease = 5000;
    const waiterTtl = 3000;
    const sem = new RedisSemaphore(store, { name, capacity: 1, lease, waiterTtl });
    const other = otherStore();
    try {
      const there = new RedisSemaphore(other, { name, capacity: 1, lease, waiterTtl });
      /** Every key has a TTL reaching at least a second past the latest deadline stored. */
      const check = async (idle = false) => {
        const [seconds, micros] = await redis.admin.time();
        const nowMs = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
        let last = nowMs;
        for (const part of ['holders', 'waiters']) {
          const top = await redis.admin.zrange(`sluice:{${name}}:${part}`, -1, -1, 'WITHSCORES');
          if (top[1] !== undefined) last = Math.max(last, Number(top[1]));
        }
        const keys = await keysWithTtl(redis.admin, `sluice:{${name}}`);
        for (const [key, ttl] of keys) {
          expect({ key, ttl: ttl === -1 }).toEqual({ key, ttl: false });
          if (idle) continue;
          // 50 ms for the calls between TIME and PTTL.
          expect({ key, enough: ttl >= last - nowMs + 1000 - 50 }).toEqual({ key, enough: true });
        }
        return keys;
      };
      const held = await sem.acquire(); // holders and data created
      await check();
      const waiting = there.acquire(); // queue and waiters created
      await eventually(async () => (await sem.stats()).waiting === 1, 2000);
      await check();
      held.release(); // the grant by message re-creates holders
      const next = await waiting;
      expect((await check()).has(`sluice:{${name}}:holders`)).toBe(true);
      const again = sem.acquire(); // queued behind `next`
      await eventually(async () => (await sem.stats()).waiting === 1, 2000);
      await check();
      next.release();
      (await again).release();
      await eventually(async () => (await sem.stats()).inUse === 0, 2000);
      // Idle: only the data hash is left, expiring within a second.
      const idle = await check(true);
      expect([...idle.keys()]).toEqual([`sluice:{${name}}:data`]);
      expect(idle.get(`sluice:{${name}}:data`)).toBeLessThanOrEqual(1000);
      await tick(1100);
      expect((await keysWithTtl(redis.admin, `sluice:{${name}}`)).size).toBe(0);
    } finally {
      await other.close();
    }
  });

  it('a release in one process wakes the head waiter in another by message, not by poll', async () => {
    const name = uniqueName();
    const other = otherStore();
    try {
      const here = new RedisSemaphore(store, { name, capacity: 1 });
      const there = new RedisSemaphore(other, { name, capacity: 1 });
      const latencies: number[] = [];
      for (let i = 0; i < 2; i++) {
        const held = await here.acquire();
        const waiting = there.acquire();
        await eventually(async () => (await here.stats()).waiting === 1, 2000, 5);
        await tick(1100); // the waiter's poll has backed off to 1 s by now
        const released = performance.now();
        held.release();
        const p = await waiting;
        latencies.push(performance.now() - released);
        p.release();
        await eventually(async () => (await here.stats()).inUse === 0, 2000, 5);
      }
      // A poll would take about a second; a message takes a few round trips.
      expect(Math.max(...latencies)).toBeLessThan(500);
    } finally {
      await other.close();
    }
  });

  it('store.close() rejects waiters, releases held permits, and leaves nothing behind', async () => {
    const name = uniqueName();
    const own = new RedisStore({ client: create(redis.url) });
    const sem = new RedisSemaphore(own, { name, capacity: 1 });
    const held = await sem.acquire();
    const waiting = sem.acquire().catch((e: unknown) => e);
    await eventually(async () => (await sem.stats()).waiting === 1, 2000);
    await own.close();
    expect(await waiting).toBeInstanceOf(ClosedError);
    expect(held.released).toBe(true);
    expect(await redis.admin.zcard(`sluice:{${name}}:holders`)).toBe(0);
    expect(await redis.admin.zcard(`sluice:{${name}}:queue`)).toBe(0);
  });
});
