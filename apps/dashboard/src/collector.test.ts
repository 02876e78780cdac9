import { type Permit, Semaphore } from '@sluice/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Collector } from './collector.js';

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'] });
});
afterEach(() => {
  vi.useRealTimers();
});

const settle = (promise: Promise<unknown>) => promise.catch(() => undefined);

/** Semaphore(2, maxWaiting 2) put through a grant, two waits, a timeout, an abort and a refusal. */
async function script(semaphore: Semaphore) {
  const held: Permit[] = [await semaphore.acquire(), await semaphore.acquire()];
  const leaving = new AbortController();
  const waits = [
    settle(semaphore.acquire({ timeout: 100 })),
    settle(semaphore.acquire({ signal: leaving.signal })),
  ];
  await settle(semaphore.acquire()); // queue_full
  leaving.abort(); // aborted
  await vi.advanceTimersByTimeAsync(100);
  await Promise.all(waits); // queue_timeout, aborted
  const third = semaphore.acquire();
  await vi.advanceTimersByTimeAsync(40);
  held.pop()!.release();
  held.push(await third); // a grant after 40 ms
  return held;
}

describe('Collector', () => {
  it('keeps totals and rates that agree with the limiter, by reason', async () => {
    const semaphore = new Semaphore(2, { maxWaiting: 2 });
    const collector = new Collector({ work: semaphore });
    await script(semaphore);
    const { limiters, t } = collector.snapshot();
    const stats = semaphore.stats();
    expect(t).toBe(Date.now());
    expect(limiters.work).toEqual({
      inFlight: stats.inUse,
      queued: stats.waiting,
      capacity: 2,
      admitted: stats.acquired,
      shed: {
        queue_full: stats.rejected,
        queue_timeout: stats.timedOut,
        aborted: stats.aborted,
        closed: 0,
        rate_limited: 0,
        unavailable: 0,
      },
      admittedPerSec: 3,
      shedPerSec: {
        queue_full: 1,
        queue_timeout: 1,
        aborted: 1,
        closed: 0,
        rate_limited: 0,
        unavailable: 0,
      },
      waitP50Ms: 0,
      waitP99Ms: 40,
    });
    expect(stats).toMatchObject({ acquired: 3, rejected: 1, timedOut: 1, aborted: 1 });
  });

  it('lets rates fall after a second and waits leave after the window', async () => {
    const semaphore = new Semaphore(2, { maxWaiting: 2 });
    const collector = new Collector({ work: semaphore }, { windowMs: 5000 });
    await script(semaphore);
    await vi.advanceTimersByTimeAsync(1000);
    const later = collector.snapshot().limiters.work!;
    expect(later.admittedPerSec).toBe(0);
    expect(later.shedPerSec.queue_full).toBe(0);
    expect(later.admitted).toBe(3);
    expect(later.waitP99Ms).toBe(40);
    await vi.advanceTimersByTimeAsync(4000);
    expect(collector.snapshot().limiters.work).toMatchObject({ waitP50Ms: null, waitP99Ms: null });
  });

  it('close() unsubscribes: later events are not counted', async () => {
    const semaphore = new Semaphore(1);
    const collector = new Collector({ work: semaphore });
    (await semaphore.acquire()).release();
    collector.close();
    collector.close(); // idempotent
    (await semaphore.acquire()).release();
    expect(collector.snapshot().limiters.work!.admitted).toBe(1);
    expect(semaphore.stats().acquired).toBe(2);
  });

  it('shows 0 and no capacity for a limiter whose stats() lacks the gauges', () => {
    const limiter = { subscribe: () => () => {}, stats: () => ({}) };
    expect(new Collector({ bucket: limiter }).snapshot().limiters.bucket).toMatchObject({
      inFlight: 0,
      queued: 0,
      capacity: null,
    });
  });

  it('refuses bad arguments with messages that name them', () => {
    const semaphore = new Semaphore(1);
    expect(() => new Collector({})).toThrow(/`limiters` to be an object of named limiters/);
    expect(() => new Collector({ 'a-b': semaphore })).toThrow(/limiter names like `work`.*"a-b"/);
    expect(() => new Collector({ work: {} as Semaphore })).toThrow(
      /`limiters.work` to have subscribe\(\) and stats\(\)/,
    );
    expect(() => new Collector({ work: semaphore }, { windowMs: 0 })).toThrow(
      /`windowMs` to be a positive integer, got 0/,
    );
  });
});
