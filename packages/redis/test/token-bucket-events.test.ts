import { type LimiterEvent, TimeoutError, UnavailableError } from '@sluice/core';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { RedisKeyedTokenBucket, RedisStore, RedisTokenBucket } from '../src/index.js';
import { clientLibraries, startRedis, type TestRedis } from './redis-server.js';

let redis: TestRedis;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(() => redis?.stop());

let names = 0;
const uniqueName = () => `events${++names}`;

describe.each(clientLibraries)('events over $library', ({ create }) => {
  let store: RedisStore;
  beforeEach((context) => {
    store = new RedisStore({ client: create(redis.url), prefix: 'sluice' });
    context.onTestFinished(() => store.close());
  });

  it('tryTake: acquired for a grant, rejected rate_limited for a refusal, with the caller key', async () => {
    const bucket = new RedisKeyedTokenBucket<number>(store, {
      name: uniqueName(),
      capacity: 2,
      refillPerSecond: 0.01,
    });
    const events: LimiterEvent<number>[] = [];
    bucket.subscribe((e) => events.push(e));
    await bucket.tryTake(7, 2);
    await bucket.tryTake(7);
    await bucket.tryTake(8);
    expect(events).toEqual([
      { type: 'acquired', weight: 2, waitedMs: 0, key: 7 },
      { type: 'rejected', reason: 'rate_limited', weight: 1, waitedMs: 0, key: 7 },
      { type: 'acquired', weight: 1, waitedMs: 0, key: 8 },
    ]);
  });

  it('take: queued then acquired after the wait; queue_timeout and aborted when it gives up', async () => {
    const bucket = new RedisTokenBucket(store, {
      name: uniqueName(),
      capacity: 1,
      refillPerSecond: 10,
    });
    const events: LimiterEvent[] = [];
    bucket.subscribe((e) => events.push(e));
    await bucket.take();
    await bucket.take(); // waits for the next token, about 100 ms
    await expect(bucket.take(1, { timeout: 10 })).rejects.toThrow(TimeoutError);
    const controller = new AbortController();
    const aborted = bucket.take(1, { signal: controller.signal });
    setTimeout(() => controller.abort(), 30);
    await expect(aborted).rejects.toThrow();
    const types = events.map((e) => (e.type === 'rejected' ? `rejected ${e.reason}` : e.type));
    expect(types).toEqual([
      'acquired',
      'queued',
      'acquired',
      'rejected queue_timeout',
      'queued',
      'rejected aborted',
    ]);
    expect(events[0]).toMatchObject({ weight: 1 });
    expect(events[0]!).not.toHaveProperty('key');
    const slept = events[2] as { waitedMs: number };
    expect(slept.waitedMs).toBeGreaterThan(50);
    expect(slept.waitedMs).toBeLessThan(1000);
  });

  it('reports unavailable and closed; unsubscribing stops the events; a throwing listener breaks nothing', async () => {
    const bucket = new RedisTokenBucket(store, {
      name: uniqueName(),
      capacity: 5,
      refillPerSecond: 1,
    });
    const events: LimiterEvent[] = [];
    const error = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      bucket.subscribe(() => {
        throw new Error('listener bug');
      });
      const stop = bucket.subscribe((e) => events.push(e));
      expect((await bucket.tryTake()).ok).toBe(true);
      expect(error).toHaveBeenCalledWith(expect.objectContaining({ message: 'listener bug' }));
      stop();
      stop(); // idempotent
      await bucket.tryTake();
      expect(events).toHaveLength(1);
    } finally {
      error.mockRestore();
    }
    expect(() => bucket.subscribe('nope' as never)).toThrow(
      /`listener` to be a function, got "nope"/,
    );

    const gone = new RedisStore({
      client: create('redis://127.0.0.1:1'),
      commandTimeout: 50,
    });
    const unreachable = new RedisTokenBucket(gone, { name: 'x', capacity: 1, refillPerSecond: 1 });
    const seen: LimiterEvent[] = [];
    unreachable.subscribe((e) => seen.push(e));
    await expect(unreachable.tryTake()).rejects.toThrow(UnavailableError);
    await expect(unreachable.take()).rejects.toThrow(UnavailableError);
    await gone.close();
    await expect(unreachable.tryTake()).rejects.toThrow(/closed/);
    expect(seen.map((e) => e.type === 'rejected' && e.reason)).toEqual([
      'unavailable',
      'unavailable',
      'closed',
    ]);
  });
});
