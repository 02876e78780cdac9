// Redis paused (SIGSTOP), killed and restarted, scripts flushed: what each `whenUnavailable`
// mode answers, how fast, and that everything recovers by itself. Every wait is bounded in time
// and count; the server is resumed before it is killed, also when a test fails.
import { TimeoutError, UnavailableError } from '@sluice/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RedisKeyedTokenBucket, RedisStore, type WhenUnavailable } from '../src/index.js';
import { expectNoUnhandledRejections } from './no-unhandled-rejections.js';
import {
  clientLibraries,
  commandCalls,
  eventually,
  keysWithTtl,
  startRedis,
  type TestRedis,
} from './redis-server.js';

const COMMAND_TIMEOUT = 150;
const COOL_DOWN = 300;

expectNoUnhandledRejections();

async function timed<T>(work: () => Promise<T>): Promise<{ ms: number; value: T | unknown }> {
  const start = performance.now();
  let value: T | unknown;
  try {
    value = await work();
  } catch (error) {
    value = error;
  }
  return { ms: performance.now() - start, value };
}

describe.each(clientLibraries)('over $library', ({ create }) => {
  let redis: TestRedis;
  const stores: RedisStore[] = [];
  const errors: unknown[] = [];
  let names = 0;

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterEach(async () => {
    redis.resume(); // whatever happened, never leave it stopped
    await Promise.all(stores.splice(0).map((s) => s.close()));
  });
  afterAll(async () => {
    await redis?.stop();
  });

  function setUp(whenUnavailable: WhenUnavailable, capacity = 5) {
    const store = new RedisStore({
      client: create(redis.url),
      commandTimeout: COMMAND_TIMEOUT,
      whenUnavailable,
      breaker: { threshold: 3, coolDown: COOL_DOWN },
      onError: (error) => errors.push(error),
    });
    stores.push(store);
    const name = `f${++names}`;
    const bucket = new RedisKeyedTokenBucket(store, { name, capacity, refillPerSecond: 1 });
    return { store, bucket, name };
  }

  /**
   * Polls with fresh keys until Redis decides (bounded: 50 tries, 5 s). Also the warm-up: on a
   * busy machine the first connect and script load can outlast a 150 ms command timeout.
   */
  async function recovered(bucket: RedisKeyedTokenBucket): Promise<boolean> {
    let tries = 0;
    return eventually(
      async () => {
        if (++tries > 50) return true;
        const r = await bucket.tryTake(`probe-${tries}`).catch(() => undefined);
        return r?.ok === true && r.degraded === undefined;
      },
      5000,
      100,
    ).then((ok) => ok && tries <= 50);
  }

  it("'reject' with Redis paused: UnavailableError within commandTimeout, then the breaker refuses in < 1 ms", async () => {
    const { bucket } = setUp('reject');
    expect(await recovered(bucket)).toBe(true);
    redis.pause();
    // Three at once: the first is sent at once, the other two share one command (two failed
    // commands)...
    const first = await Promise.all([1, 2, 3].map(() => timed(() => bucket.tryTake('a'))));
    // ...and one more makes three failures in a row.
    first.push(await timed(() => bucket.tryTake('a')));
    for (const { ms, value } of first) {
      expect(value).toBeInstanceOf(UnavailableError);
      expect((value as UnavailableError).code).toBe('UNAVAILABLE');
      expect(ms).toBeLessThan(COMMAND_TIMEOUT + 20);
    }
    // Three failures in a row opened the breaker: refusals no longer wait for Redis.
    const refusals = [];
    for (let i = 0; i < 21; i++) refusals.push(await timed(() => bucket.tryTake('a')));
    expect(refusals.every((r) => r.value instanceof UnavailableError)).toBe(true);
    // A refusal is a rejected promise, no I/O: under 1 ms typically. On a machine shared by many
    // processes one may still be descheduled for a few ms, so the median carries the bound, and
    // every one is far below the command timeout (none waited for Redis).
    const sorted = refusals.map((r) => r.ms).sort((x, y) => x - y);
    expect(sorted[10]).toBeLessThan(1);
    expect(sorted[20]).toBeLessThan(COMMAND_TIMEOUT / 3);
    const take = await timed(() => bucket.take('a'));
    expect(take.value).toBeInstanceOf(UnavailableError);
    expect(take.ms).toBeLessThan(COMMAND_TIMEOUT / 3);
  });

  it('recovers by itself on SIGCONT, and commands that ran late change nothing', async () => {
    const { bucket, name } = setUp('reject', 10);
    expect(await recovered(bucket)).toBe(true);
    redis.pause();
    // Ten decisions written to the paused server's socket: their callers give up...
    const late = await Promise.all(
      Array.from({ length: 10 }, () => timed(() => bucket.tryTake('late'))),
    );
    expect(late.every((r) => r.value instanceof UnavailableError)).toBe(true);
    await new Promise((r) => setTimeout(r, 50));
    redis.resume();
    // ...and when Redis runs them they are past their deadline: no token of 'late' is taken.
    expect(await recovered(bucket)).toBe(true);
    expect(await keysWithTtl(redis.admin, `sluice:{${name}}:bucket:late`)).toEqual(new Map());
    expect(await bucket.tryTake('late', 10)).toEqual({ ok: true, remaining: 0 });
  });

  it("'reject' with Redis killed: refuses fast; after a restart it recovers with no stale burst", async () => {
    const { bucket } = setUp('reject');
    expect(await recovered(bucket)).toBe(true);
    await redis.kill();
    for (let i = 0; i < 20; i++) {
      const { ms, value } = await timed(() => bucket.tryTake('k'));
      expect(value).toBeInstanceOf(UnavailableError);
      expect(ms).toBeLessThan(COMMAND_TIMEOUT + 20);
    }
    await redis.restart();
    // Wait until the store has reconnected (admin + the store's connection), then idle a bit:
    // nothing the callers sent during the outage may arrive now.
    expect(
      await eventually(
        async () => {
          const list = await redis.admin.client('LIST');
          return String(list).trim().split('\n').length >= 2;
        },
        6000,
        50,
      ),
    ).toBe(true);
    await new Promise((r) => setTimeout(r, 200));
    expect(await commandCalls(redis.admin, 'evalsha')).toBe(0);
    expect(await commandCalls(redis.admin, 'eval')).toBe(0);
    // The new server has no script loaded: NOSCRIPT is handled without the caller seeing it.
    expect(await recovered(bucket)).toBe(true);
    expect(await bucket.tryTake('k')).toEqual({ ok: true, remaining: 4 });
  });

  it("'allow' admits while Redis is paused, marked degraded, and stops once it is back", async () => {
    const { bucket } = setUp('allow', 2);
    expect(await recovered(bucket)).toBe(true);
    redis.pause();
    const results = [];
    for (let i = 0; i < 6; i++) results.push(await bucket.tryTake('x'));
    expect(results).toEqual(Array(6).fill({ ok: true, remaining: 0, degraded: true }));
    await expect(bucket.take('x')).resolves.toBeUndefined();
    // The last of the three decisions sent to the paused server timed out just now; resumed at
    // once, Redis could run it within its deadline's slack (the smallest one-way delay seen).
    await new Promise((r) => setTimeout(r, 50));
    redis.resume();
    expect(await recovered(bucket)).toBe(true);
    expect(await bucket.tryTake('x', 2)).toEqual({ ok: true, remaining: 0 });
    expect((await bucket.tryTake('x')).ok).toBe(false);
  });

  it("'local' enforces the limit per process while Redis is down", async () => {
    const { bucket } = setUp('local', 3);
    expect(await recovered(bucket)).toBe(true);
    await redis.kill();
    const results = [];
    for (let i = 0; i < 5; i++) results.push(await bucket.tryTake('y'));
    expect(results.slice(0, 3)).toEqual(
      [2, 1, 0].map((remaining) => ({ ok: true, remaining, degraded: true })),
    );
    expect(results.slice(3).every((r) => !r.ok)).toBe(true);
    // take() waits on the in-memory bucket (1 token per second): a short timeout times out.
    await expect(bucket.take('y', 1, { timeout: 50 })).rejects.toBeInstanceOf(TimeoutError);
    await redis.restart();
    expect(await recovered(bucket)).toBe(true);
    // Back on Redis, whose bucket for 'y' is full: the local one is not consulted any more.
    expect(await bucket.tryTake('y', 3)).toEqual({ ok: true, remaining: 0 });
  });

  it('SCRIPT FLUSH in the middle of a run reaches no caller', async () => {
    const { bucket } = setUp('reject', 1000);
    let failures = 0;
    let calls = 0;
    const worker = async () => {
      for (let i = 0; i < 60; i++) {
        calls++;
        await bucket.tryTake(`w${i % 3}`).catch(() => failures++);
      }
    };
    const flusher = async () => {
      for (let i = 0; i < 5; i++) {
        await new Promise((r) => setTimeout(r, 5));
        await redis.admin.script('FLUSH');
      }
    };
    await Promise.all([worker(), worker(), worker(), worker(), flusher()]);
    expect(calls).toBe(240);
    expect(failures).toBe(0);
  });

  it('reports connection errors and the failure that opened the breaker to onError, never as unhandled rejections', async () => {
    errors.length = 0;
    const { bucket } = setUp('reject');
    expect(await recovered(bucket)).toBe(true);
    await redis.kill();
    for (let i = 0; i < 5; i++) await bucket.tryTake('z').catch(() => {});
    await redis.restart();
    expect(await recovered(bucket)).toBe(true);
    expect(errors.length).toBeGreaterThan(0);
  });
});
