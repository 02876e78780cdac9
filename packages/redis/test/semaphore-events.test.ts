// subscribe() of the Redis semaphores: core's events for this process's acquires, over both
// client libraries, on a real redis-server.
import { type LimiterEvent, QueueFullError, TimeoutError, UnavailableError } from '@sluice/core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RedisKeyedSemaphore, RedisLock, RedisSemaphore, RedisStore } from '../src/index.js';
import { clientLibraries, startRedis, type TestRedis } from './redis-server.js';

let redis: TestRedis;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(() => redis?.stop());

let names = 0;
const uniqueName = () => `ev${++names}`;
/** An event as `type[ reason][ key]`, for comparing sequences. */
const show = (e: LimiterEvent<unknown>) =>
  [e.type, e.type === 'rejected' ? e.reason : '', 'key' in e ? String(e.key) : '']
    .filter(Boolean)
    .join(' ');

describe.each(clientLibraries)('semaphore events over $library', ({ create }) => {
  let store: RedisStore;
  beforeEach((context) => {
    store = new RedisStore({ client: create(redis.url) });
    context.onTestFinished(() => store.close());
  });

  it('acquired, queued, released, with the wait and the hold measured', async () => {
    const sem = new RedisSemaphore(store, { name: uniqueName(), capacity: 1 });
    const events: LimiterEvent[] = [];
    sem.subscribe((e) => events.push(e));
    const first = await sem.acquire();
    const second = sem.acquire({ weight: 1 });
    await new Promise((r) => setTimeout(r, 60));
    first.release();
    const held = await second;
    held.release();
    expect(events.map(show)).toEqual(['acquired', 'queued', 'released', 'acquired', 'released']);
    const [granted, queued, released, waited] = events;
    expect(granted).toMatchObject({ weight: 1 });
    if (granted?.type === 'acquired') expect(granted.waitedMs).toBeLessThan(1000);
    expect(queued).toEqual({ type: 'queued', weight: 1 });
    if (released?.type === 'released') expect(released.heldMs).toBeGreaterThanOrEqual(50);
    if (waited?.type === 'acquired') expect(waited.waitedMs).toBeGreaterThanOrEqual(50);
  });

  it('rejected with queue_timeout, aborted, queue_full and closed; nothing after unsubscribing', async () => {
    const name = uniqueName();
    const sem = new RedisSemaphore(store, { name, capacity: 1, maxWaiting: 1 });
    const events: LimiterEvent[] = [];
    const stop = sem.subscribe((e) => events.push(e));
    const holder = await sem.acquire();
    await expect(sem.acquire({ timeout: 0 })).rejects.toThrow(TimeoutError);
    await expect(sem.acquire({ timeout: 50 })).rejects.toThrow(TimeoutError);
    const controller = new AbortController();
    const aborted = sem.acquire({ signal: controller.signal });
    await new Promise((r) => setTimeout(r, 30));
    controller.abort();
    await expect(aborted).rejects.toThrow();
    await expect(sem.acquire({ signal: AbortSignal.abort() })).rejects.toThrow();
    const waiting = sem.acquire();
    await new Promise((r) => setTimeout(r, 30));
    await expect(sem.acquire()).rejects.toThrow(QueueFullError);
    sem.close();
    await expect(waiting).rejects.toThrow(/closed/);
    await expect(sem.acquire()).rejects.toThrow(/closed/);
    holder.release();
    expect(events.map(show)).toEqual([
      'acquired',
      'rejected queue_timeout',
      'queued',
      'rejected queue_timeout',
      'queued',
      'rejected aborted',
      'rejected aborted',
      'queued',
      'rejected queue_full',
      'rejected closed',
      'rejected closed',
      'released',
    ]);
    stop();
    const lock = new RedisLock(store, { name });
    await expect(lock.acquire({ timeout: 0 })).resolves.toBeDefined();
    expect(events).toHaveLength(12);
  });

  it('keyed: every event carries the key as the caller passed it; RedisLock has events too', async () => {
    const keyed = new RedisKeyedSemaphore<number>(store, { name: uniqueName(), capacity: 1 });
    const events: LimiterEvent<number>[] = [];
    keyed.subscribe((e) => events.push(e));
    const a = await keyed.acquire(7);
    await expect(keyed.acquire(7, { timeout: 0 })).rejects.toThrow(TimeoutError);
    (await keyed.acquire(8)).release();
    a.release();
    expect(events.map(show)).toEqual([
      'acquired 7',
      'rejected queue_timeout 7',
      'acquired 8',
      'released 8',
      'released 7',
    ]);
    expect(events[0]!.type === 'acquired' && events[0]!.key).toBe(7);

    const lock = new RedisLock(store, { name: uniqueName() });
    const seen: string[] = [];
    lock.subscribe((e) => seen.push(show(e)));
    await lock.run(() => {});
    expect(seen).toEqual(['acquired', 'released']);
  });

  it("Redis unreachable: rejected unavailable ('reject'); with 'allow' acquired and released", async () => {
    const gone = new RedisStore({ client: create('redis://127.0.0.1:1'), commandTimeout: 50 });
    const allow = new RedisStore({
      client: create('redis://127.0.0.1:1'),
      commandTimeout: 50,
      whenUnavailable: 'allow',
    });
    try {
      const refused = new RedisSemaphore(gone, { name: 'x', capacity: 1 });
      const admitted = new RedisSemaphore(allow, { name: 'x', capacity: 1 });
      const events: string[] = [];
      refused.subscribe((e) => events.push(`reject: ${show(e)}`));
      admitted.subscribe((e) => events.push(`allow: ${show(e)}`));
      await expect(refused.acquire()).rejects.toThrow(UnavailableError);
      const permit = await admitted.acquire();
      expect(permit.degraded).toBe(true);
      permit.release();
      expect(events).toEqual([
        'reject: rejected unavailable',
        'allow: acquired',
        'allow: released',
      ]);
    } finally {
      await gone.close();
      await allow.close();
    }
  });
});
