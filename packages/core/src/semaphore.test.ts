import { AsyncLocalStorage } from 'node:async_hooks';
import { getEventListeners } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ClosedError, QueueFullError, TimeoutError } from './errors.js';
import { Semaphore } from './semaphore.js';
import type { Permit } from './types.js';

// Lets promise reactions run (a grant or rejection settles after one or two microtasks).
async function flush(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

/** Records the order in which promises settle. */
function track<T>(log: string[], name: string, promise: Promise<T>): Promise<T> {
  promise.then(
    () => log.push(`${name}:ok`),
    () => log.push(`${name}:err`),
  );
  return promise;
}

const listeners = (signal: AbortSignal): number => getEventListeners(signal, 'abort').length;

const ZERO_COUNTERS = { maxInUse: 0, acquired: 0, timedOut: 0, aborted: 0, rejected: 0 };

afterEach(() => {
  vi.useRealTimers();
});

describe('constructor', () => {
  it.each([
    [-1, RangeError, /`capacity`.*-1/],
    [1.5, RangeError, /`capacity`.*1\.5/],
    [Number.NaN, RangeError, /`capacity`.*NaN/],
    [Number.POSITIVE_INFINITY, RangeError, /`capacity`.*Infinity/],
    ['2', TypeError, /`capacity`.*"2"/],
    [undefined, TypeError, /`capacity`.*undefined/],
  ])('rejects capacity %s', (capacity, type, message) => {
    expect(() => new Semaphore(capacity as number)).toThrow(type);
    expect(() => new Semaphore(capacity as number)).toThrow(message);
  });

  it.each([
    [-1, RangeError, /`maxWaiting`.*-1/],
    [0.5, RangeError, /`maxWaiting`.*0\.5/],
    [Number.NaN, RangeError, /`maxWaiting`.*NaN/],
    ['1', TypeError, /`maxWaiting`.*"1"/],
  ])('rejects maxWaiting %s', (maxWaiting, type, message) => {
    expect(() => new Semaphore(1, { maxWaiting: maxWaiting as number })).toThrow(type);
    expect(() => new Semaphore(1, { maxWaiting: maxWaiting as number })).toThrow(message);
  });

  it('rejects options that are not an object', () => {
    expect(() => new Semaphore(1, 5 as never)).toThrow(/`options`/);
  });

  it('accepts capacity 0 and maxWaiting Infinity', () => {
    const sem = new Semaphore(0, { maxWaiting: Number.POSITIVE_INFINITY });
    expect(sem.stats()).toEqual({
      capacity: 0,
      available: 0,
      inUse: 0,
      waiting: 0,
      ...ZERO_COUNTERS,
    });
  });
});

describe('acquire and release', () => {
  it('grants at once while permits are free and updates the gauges', async () => {
    const sem = new Semaphore(3);
    const a = await sem.acquire();
    const b = await sem.acquire({ weight: 2 });
    expect(a.weight).toBe(1);
    expect(b.weight).toBe(2);
    expect(sem.inUse).toBe(3);
    expect(sem.available).toBe(0);
    expect(sem.waiting).toBe(0);
    expect(a.released).toBe(false);
    b.release();
    expect(b.released).toBe(true);
    expect(sem.available).toBe(2);
    a.release();
    expect(sem.stats()).toEqual({
      capacity: 3,
      available: 3,
      inUse: 0,
      waiting: 0,
      maxInUse: 3,
      acquired: 2,
      timedOut: 0,
      aborted: 0,
      rejected: 0,
    });
  });

  it('release is idempotent', async () => {
    const sem = new Semaphore(2);
    const a = await sem.acquire();
    const b = await sem.acquire();
    a.release();
    a.release();
    a.release();
    expect(sem.inUse).toBe(1);
    expect(sem.available).toBe(1);
    b.release();
    expect(sem.available).toBe(2);
    b[Symbol.dispose]();
    expect(sem.inUse).toBe(0);
  });

  it('a second release does not hand the permits to a waiter again', async () => {
    const sem = new Semaphore(1);
    const a = await sem.acquire();
    const b = sem.acquire();
    const c = sem.acquire();
    a.release();
    a.release();
    expect(sem.inUse).toBe(1);
    expect(sem.waiting).toBe(1);
    (await b).release();
    (await c).release();
    expect(sem.available).toBe(1);
  });

  it('works with `using`', async () => {
    const sem = new Semaphore(1);
    {
      using permit = await sem.acquire();
      expect(permit.released).toBe(false);
      expect(sem.inUse).toBe(1);
    }
    expect(sem.inUse).toBe(0);
    const thrower = async () => {
      using _permit = await sem.acquire();
      throw new Error('boom');
    };
    await expect(thrower()).rejects.toThrow('boom');
    expect(sem.inUse).toBe(0);
    expect(sem.available).toBe(1);
  });

  it('resolves a Permit that is not a thenable', async () => {
    const sem = new Semaphore(1);
    const permit = await sem.acquire();
    expect('then' in permit).toBe(false);
    permit.release();
  });

  it('gives every grant a fresh permit, so a stale release never reaches a later grant', async () => {
    const sem = new Semaphore(1);
    const first = await sem.acquire();
    const queued = sem.acquire();
    first.release();
    const second = await queued; // granted from the queue
    expect(second).not.toBe(first);
    first.release();
    expect(second.released).toBe(false);
    expect(sem.inUse).toBe(1);
    second.release();
    const third = await sem.acquire(); // granted at once
    expect(third).not.toBe(second);
    first.release();
    second.release();
    expect(third.released).toBe(false);
    expect(sem.inUse).toBe(1);
    third.release();
    expect(sem.available).toBe(1);
  });

  it('resolves the same kind of Permit after a wait as at once', async () => {
    const sem = new Semaphore(2);
    const atOnce = await sem.acquire({ weight: 2 });
    const pending = sem.acquire({ weight: 2 });
    atOnce.release();
    const waited = await pending;
    expect(waited.weight).toBe(2);
    expect(waited.released).toBe(false);
    expect('then' in waited).toBe(false);
    waited[Symbol.dispose]();
    expect(waited.released).toBe(true);
    waited.release();
    expect(sem.available).toBe(2);
    expect(sem.stats().acquired).toBe(2);
  });
});

describe('FIFO (guarantee 1)', () => {
  it('serves waiters in arrival order, a heavy head blocking lighter ones behind it', async () => {
    const sem = new Semaphore(3);
    const log: string[] = [];
    const held = await sem.acquire({ weight: 2 });
    const heavy = track(log, 'heavy', sem.acquire({ weight: 3 }));
    const light = track(log, 'light', sem.acquire({ weight: 1 }));
    await flush();
    // One permit is free and `light` fits, yet it waits behind `heavy`.
    expect(sem.available).toBe(1);
    expect(sem.waiting).toBe(2);
    expect(log).toEqual([]);
    held.release();
    expect(sem.inUse).toBe(3);
    expect(sem.waiting).toBe(1);
    await flush();
    expect(log).toEqual(['heavy:ok']);
    (await heavy).release();
    expect(sem.inUse).toBe(1);
    await flush();
    expect(log).toEqual(['heavy:ok', 'light:ok']);
    (await light).release();
    expect(sem.available).toBe(3);
  });

  it('tryAcquire fails while anyone waits, even when permits are free', async () => {
    const sem = new Semaphore(3);
    const held = await sem.acquire({ weight: 2 });
    const heavy = sem.acquire({ weight: 2 });
    expect(sem.available).toBe(1);
    expect(sem.tryAcquire()).toBeUndefined();
    expect(sem.inUse).toBe(2);
    held.release();
    (await heavy).release();
    const p = sem.tryAcquire();
    expect(p).toBeDefined();
    p?.release();
  });

  it('grants synchronously: release() hands the permit to the head before it returns', async () => {
    const sem = new Semaphore(1);
    const held = await sem.acquire();
    const waiter = sem.acquire();
    held.release();
    expect(sem.inUse).toBe(1);
    expect(sem.waiting).toBe(0);
    expect(sem.available).toBe(0);
    // A newcomer in the same tick cannot barge in.
    expect(sem.tryAcquire()).toBeUndefined();
    const newcomer = sem.acquire();
    expect(sem.waiting).toBe(1);
    const log: string[] = [];
    track(log, 'newcomer', newcomer);
    (await waiter).release();
    await flush();
    expect(log).toEqual(['newcomer:ok']);
    (await newcomer).release();
  });

  it('serves many waiters in order across many releases', async () => {
    const sem = new Semaphore(2);
    const order: number[] = [];
    const done = Array.from({ length: 50 }, (_, i) =>
      sem.run(async () => {
        order.push(i);
        await flush();
      }),
    );
    await Promise.all(done);
    expect(order).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(sem.stats()).toMatchObject({ inUse: 0, available: 2, maxInUse: 2, acquired: 50 });
  });

  it('refuses a weight above capacity at once, never queueing it', async () => {
    const sem = new Semaphore(2);
    await expect(sem.acquire({ weight: 3 })).rejects.toThrow(RangeError);
    await expect(sem.acquire({ weight: 3 })).rejects.toThrow(/`weight`.*capacity \(2\).*3/);
    expect(() => sem.tryAcquire(3)).toThrow(RangeError);
    expect(sem.waiting).toBe(0);
    expect(sem.stats()).toMatchObject(ZERO_COUNTERS);
  });

  it('with capacity 0 everything waits until a resize', async () => {
    const sem = new Semaphore(0);
    const log: string[] = [];
    const a = track(log, 'a', sem.acquire({ weight: 2 }));
    expect(sem.tryAcquire()).toBeUndefined();
    expect(sem.waiting).toBe(1);
    await flush();
    expect(log).toEqual([]);
    sem.resize(2);
    (await a).release();
    expect(sem.available).toBe(2);
  });
});

describe('bad arguments', () => {
  const badWeights: Array<[unknown, RegExp]> = [
    [0, /`weight`.*0/],
    [-1, /`weight`.*-1/],
    [1.5, /`weight`.*1\.5/],
    [Number.NaN, /`weight`.*NaN/],
    [Number.POSITIVE_INFINITY, /`weight`.*Infinity/],
    ['1', /`weight`.*"1"/],
    [null, /`weight`.*null/],
  ];

  it.each(badWeights)('acquire rejects weight %s and changes nothing', async (weight, message) => {
    const sem = new Semaphore(2);
    const result = sem.acquire({ weight: weight as number });
    await expect(result).rejects.toThrow(message);
    await expect(result).rejects.toBeInstanceOf(
      typeof weight === 'number' ? RangeError : TypeError,
    );
    expect(sem.stats()).toEqual({
      capacity: 2,
      available: 2,
      inUse: 0,
      waiting: 0,
      ...ZERO_COUNTERS,
    });
  });

  it.each(badWeights)('tryAcquire throws for weight %s', (weight, message) => {
    const sem = new Semaphore(2);
    expect(() => sem.tryAcquire(weight as number)).toThrow(message);
    expect(sem.inUse).toBe(0);
  });

  it.each([
    [-1, RangeError, /`timeout`.*-1/],
    [Number.NaN, RangeError, /`timeout`.*NaN/],
    [Number.POSITIVE_INFINITY, RangeError, /`timeout`.*Infinity/],
    ['10', TypeError, /`timeout`.*"10"/],
  ])('acquire rejects timeout %s', async (timeout, type, message) => {
    const sem = new Semaphore(1);
    const result = sem.acquire({ timeout: timeout as number });
    await expect(result).rejects.toBeInstanceOf(type);
    await expect(result).rejects.toThrow(message);
    expect(sem.stats()).toMatchObject({ inUse: 0, waiting: 0, ...ZERO_COUNTERS });
  });

  it.each([
    [{}, /`signal`.*an object/],
    ['abort', /`signal`.*"abort"/],
    [null, /`signal`.*null/],
  ])('acquire rejects signal %s with TypeError', async (signal, message) => {
    const sem = new Semaphore(1);
    const result = sem.acquire({ signal: signal as unknown as AbortSignal });
    await expect(result).rejects.toBeInstanceOf(TypeError);
    await expect(result).rejects.toThrow(message);
    expect(sem.stats()).toMatchObject({ inUse: 0, waiting: 0, ...ZERO_COUNTERS });
  });

  it('acquire rejects options that are not an object', async () => {
    const sem = new Semaphore(1);
    await expect(sem.acquire(3 as never)).rejects.toThrow(/`options`.*3/);
    await expect(sem.acquire(null as never)).rejects.toThrow(TypeError);
    expect(sem.inUse).toBe(0);
  });

  it('bad arguments reject even while waiters queue, leaving the queue alone', async () => {
    const sem = new Semaphore(1);
    const held = await sem.acquire();
    const waiter = sem.acquire();
    await expect(sem.acquire({ weight: -1 })).rejects.toThrow(RangeError);
    expect(sem.waiting).toBe(1);
    held.release();
    (await waiter).release();
  });

  it.each([
    [-1, RangeError],
    [2.5, RangeError],
    [Number.NaN, RangeError],
    [Number.POSITIVE_INFINITY, RangeError],
    ['3', TypeError],
  ])('resize throws for %s and changes nothing', async (capacity, type) => {
    const sem = new Semaphore(2);
    const held = await sem.acquire();
    expect(() => sem.resize(capacity as number)).toThrow(type);
    expect(() => sem.resize(capacity as number)).toThrow(/`capacity`/);
    expect(sem.capacity).toBe(2);
    expect(sem.available).toBe(1);
    held.release();
  });

  it('run rejects a non-function and wrap throws for one', async () => {
    const sem = new Semaphore(1);
    await expect(sem.run(42 as never)).rejects.toThrow(/`fn`.*42/);
    expect(() => sem.wrap('x' as never)).toThrow(/`fn`.*"x"/);
    expect(() => sem.wrap(async () => 1, { weight: 0 })).toThrow(/`weight`/);
    expect(sem.stats()).toMatchObject({ inUse: 0, ...ZERO_COUNTERS });
  });

  it('run rejects bad options without calling fn', async () => {
    const sem = new Semaphore(1);
    const fn = vi.fn();
    await expect(sem.run(fn, { weight: 2 })).rejects.toThrow(RangeError);
    await expect(sem.run(fn, { timeout: -5 })).rejects.toThrow(/`timeout`.*-5/);
    expect(fn).not.toHaveBeenCalled();
  });
});

describe('cancellation (guarantee 2)', () => {
  it('an already-aborted signal rejects with its reason without touching state, even with permits free', async () => {
    const sem = new Semaphore(2);
    const controller = new AbortController();
    const reason = new Error('gone');
    controller.abort(reason);
    await expect(sem.acquire({ signal: controller.signal })).rejects.toBe(reason);
    await expect(sem.acquire({ signal: controller.signal, timeout: 5 })).rejects.toBe(reason);
    const fn = vi.fn();
    await expect(sem.run(fn, { signal: controller.signal })).rejects.toBe(reason);
    expect(fn).not.toHaveBeenCalled();
    expect(listeners(controller.signal)).toBe(0);
    expect(sem.stats()).toEqual({
      capacity: 2,
      available: 2,
      inUse: 0,
      waiting: 0,
      ...ZERO_COUNTERS,
    });
  });

  it('an abort while waiting rejects with signal.reason and leaves the gauges as if it never waited', async () => {
    const sem = new Semaphore(1);
    const held = await sem.acquire();
    const controller = new AbortController();
    const waiter = sem.acquire({ signal: controller.signal });
    expect(sem.waiting).toBe(1);
    expect(listeners(controller.signal)).toBe(1);
    controller.abort('because');
    await expect(waiter).rejects.toBe('because');
    expect(listeners(controller.signal)).toBe(0);
    expect(sem.stats()).toMatchObject({ inUse: 1, waiting: 0, available: 0, aborted: 1 });
    held.release();
    expect(sem.stats()).toMatchObject({ inUse: 0, available: 1, acquired: 1 });
  });

  it('rejects with the abort reason as is, whatever it is (null, a thenable)', async () => {
    const sem = new Semaphore(0);
    // biome-ignore lint/suspicious/noThenProperty: a thenable reason must not be unwrapped.
    const thenable = { then: () => {} };
    for (const reason of [null, 0, thenable]) {
      const controller = new AbortController();
      const waiter = sem.acquire({ signal: controller.signal });
      controller.abort(reason);
      const settled = await Promise.allSettled([waiter]);
      expect(settled[0]).toEqual({ status: 'rejected', reason });
    }
    expect(sem.stats()).toMatchObject({ waiting: 0, aborted: 3 });
  });

  it('a cancelled head waiter unblocks the lighter waiters behind it at once', async () => {
    const sem = new Semaphore(3);
    const held = await sem.acquire({ weight: 2 });
    const controller = new AbortController();
    const log: string[] = [];
    const heavy = track(log, 'heavy', sem.acquire({ weight: 3, signal: controller.signal }));
    const light = track(log, 'light', sem.acquire({ weight: 1 }));
    const light2 = track(log, 'light2', sem.acquire({ weight: 1 }));
    expect(sem.waiting).toBe(3);
    controller.abort();
    // Served synchronously by the abort: one permit was free.
    expect(sem.inUse).toBe(3);
    expect(sem.waiting).toBe(1);
    await flush();
    expect(log).toEqual(['heavy:err', 'light:ok']);
    await expect(heavy).rejects.toMatchObject({ name: 'AbortError' });
    held.release();
    (await light).release();
    (await light2).release();
    expect(sem.available).toBe(3);
  });

  it('a cancelled waiter in the middle leaves the order of the others intact', async () => {
    const sem = new Semaphore(1);
    const held = await sem.acquire();
    const controller = new AbortController();
    const log: string[] = [];
    const a = track(log, 'a', sem.acquire());
    const b = track(log, 'b', sem.acquire({ signal: controller.signal }));
    const c = track(log, 'c', sem.acquire());
    controller.abort();
    await expect(b).rejects.toBeDefined();
    expect(sem.waiting).toBe(2);
    held.release();
    (await a).release();
    (await c).release();
    expect(log).toEqual(['b:err', 'a:ok', 'c:ok']);
  });

  it('an abort after the grant changes nothing', async () => {
    const sem = new Semaphore(1);
    const held = await sem.acquire();
    const controller = new AbortController();
    const waiter = sem.acquire({ signal: controller.signal });
    held.release();
    const permit = await waiter;
    expect(listeners(controller.signal)).toBe(0);
    controller.abort();
    expect(permit.released).toBe(false);
    expect(sem.stats()).toMatchObject({ inUse: 1, aborted: 0 });
    permit.release();
    expect(sem.available).toBe(1);
  });

  it('an abort in the same tick right after a grant: the grant wins, no permit lost', async () => {
    const sem = new Semaphore(1);
    const held = await sem.acquire();
    const controller = new AbortController();
    const waiter = sem.acquire({ signal: controller.signal });
    held.release();
    controller.abort();
    const permit = await waiter;
    expect(sem.stats()).toMatchObject({ inUse: 1, waiting: 0, aborted: 0, acquired: 2 });
    permit.release();
    expect(sem.available).toBe(1);
  });

  it('an abort in the same tick right before a release: the abort wins, the permit goes on', async () => {
    const sem = new Semaphore(1);
    const held = await sem.acquire();
    const controller = new AbortController();
    const waiter = sem.acquire({ signal: controller.signal });
    const next = sem.acquire();
    controller.abort();
    held.release();
    await expect(waiter).rejects.toBeDefined();
    const permit = await next;
    expect(sem.stats()).toMatchObject({ inUse: 1, waiting: 0, aborted: 1, acquired: 2 });
    permit.release();
    expect(sem.available).toBe(1);
  });

  it('an abort listener that releases a permit first: the grant happens first and wins', async () => {
    const sem = new Semaphore(1);
    const controller = new AbortController();
    const held = await sem.acquire();
    // Registered before the waiter's own listener, so it runs first during the abort.
    controller.signal.addEventListener('abort', () => held.release());
    const waiter = sem.acquire({ signal: controller.signal });
    controller.abort();
    const permit = await waiter;
    expect(sem.stats()).toMatchObject({ inUse: 1, aborted: 0 });
    permit.release();
    expect(sem.available).toBe(1);
  });

  it('one abort of a shared signal cancels all its waiters before serving anyone behind them', async () => {
    const sem = new Semaphore(2);
    const held = await sem.acquire();
    const controller = new AbortController();
    const log: string[] = [];
    const heavy = track(log, 'heavy', sem.acquire({ weight: 2, signal: controller.signal }));
    // Would fit once `heavy` is gone, but it is aborted by the same signal.
    const light = track(log, 'light', sem.acquire({ signal: controller.signal }));
    const other = track(log, 'other', sem.acquire());
    controller.abort();
    expect(sem.stats()).toMatchObject({ inUse: 2, waiting: 0, aborted: 2, acquired: 2 });
    await expect(heavy).rejects.toBeDefined();
    await expect(light).rejects.toBeDefined();
    (await other).release();
    expect(log).toEqual(['heavy:err', 'light:err', 'other:ok']);
    held.release();
    expect(sem.available).toBe(2);
  });

  it('a signal shared by 10,000 acquires ends with zero listeners, granted or aborted', async () => {
    const sem = new Semaphore(1);
    const controller = new AbortController();
    const { signal } = controller;
    const add = vi.spyOn(signal, 'addEventListener');
    const held = await sem.acquire();
    const waiters: Promise<Permit>[] = [];
    for (let i = 0; i < 10_000; i++) waiters.push(sem.acquire({ signal }));
    // The listener list does not grow with the number of waiters.
    expect(listeners(signal)).toBeLessThanOrEqual(1);
    held.release();
    for (const waiter of waiters.slice(0, 5_000)) (await waiter).release();
    expect(sem.waiting).toBe(4_999);
    expect(listeners(signal)).toBeLessThanOrEqual(1);
    controller.abort();
    expect(listeners(signal)).toBe(0);
    const results = await Promise.allSettled(waiters.slice(5_000));
    expect(results[0]?.status).toBe('fulfilled');
    expect(results.filter((r) => r.status === 'rejected')).toHaveLength(4_999);
    (results[0] as PromiseFulfilledResult<Permit>).value.release();
    expect(sem.stats()).toMatchObject({ inUse: 0, waiting: 0, available: 1, aborted: 4_999 });
    expect(add.mock.calls.length).toBeLessThanOrEqual(2);

    // All granted: the listener goes with the last waiter.
    const controller2 = new AbortController();
    const first = await sem.acquire({ signal: controller2.signal });
    const more: Promise<Permit>[] = [];
    for (let i = 0; i < 10_000; i++) more.push(sem.acquire({ signal: controller2.signal }));
    first.release();
    for (const waiter of more) (await waiter).release();
    expect(listeners(controller2.signal)).toBe(0);
    expect(sem.available).toBe(1);
  });

  it('a signal shared by acquires that each time out ends with zero listeners', async () => {
    vi.useFakeTimers();
    const sem = new Semaphore(1);
    const { signal } = new AbortController();
    const held = await sem.acquire();
    const waiters = Array.from({ length: 100 }, (_, i) => sem.acquire({ signal, timeout: i + 1 }));
    const settled = Promise.allSettled(waiters);
    await vi.advanceTimersByTimeAsync(100);
    const results = await settled;
    expect(results.every((r) => r.status === 'rejected')).toBe(true);
    expect(listeners(signal)).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
    expect(sem.stats()).toMatchObject({ waiting: 0, timedOut: 100 });
    held.release();
  });

  it('100,000 waiters aborted at once: no stack overflow, every one rejected, nothing left', async () => {
    const sem = new Semaphore(1);
    const held = await sem.acquire();
    const controller = new AbortController();
    const waiters: Promise<Permit>[] = [];
    for (let i = 0; i < 100_000; i++) waiters.push(sem.acquire({ signal: controller.signal }));
    const reason = new Error('shutdown');
    controller.abort(reason);
    expect(sem.waiting).toBe(0);
    const results = await Promise.allSettled(waiters);
    expect(results.every((r) => r.status === 'rejected' && r.reason === reason)).toBe(true);
    expect(sem.stats()).toMatchObject({ inUse: 1, waiting: 0, aborted: 100_000, acquired: 1 });
    held.release();
    expect(sem.available).toBe(1);
  });

  it('10,000 waiters with their own signals aborted in a burst, head first', async () => {
    const sem = new Semaphore(1);
    const held = await sem.acquire();
    const controllers = Array.from({ length: 10_000 }, () => new AbortController());
    const waiters = controllers.map((c) => sem.acquire({ signal: c.signal }));
    for (const c of controllers) c.abort();
    const results = await Promise.allSettled(waiters);
    expect(results.every((r) => r.status === 'rejected')).toBe(true);
    expect(sem.stats()).toMatchObject({ inUse: 1, waiting: 0, aborted: 10_000 });
    held.release();
    expect(sem.available).toBe(1);
  });

  it('100,000 waiters granted at once by a resize, without recursion', async () => {
    const sem = new Semaphore(0);
    const waiters: Promise<Permit>[] = [];
    for (let i = 0; i < 100_000; i++) waiters.push(sem.acquire());
    sem.resize(100_000);
    expect(sem.stats()).toMatchObject({ inUse: 100_000, waiting: 0, maxInUse: 100_000 });
    for (const waiter of waiters) (await waiter).release();
    expect(sem.available).toBe(100_000);
  });
});

describe('timeout', () => {
  it('rejects with TimeoutError, leaves no ghost waiter and no pending timer', async () => {
    vi.useFakeTimers();
    const sem = new Semaphore(1);
    const held = await sem.acquire();
    const waiter = sem.acquire({ timeout: 100 });
    const rejection = expect(waiter).rejects.toBeInstanceOf(TimeoutError);
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(99);
    expect(sem.waiting).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    await rejection;
    await expect(waiter).rejects.toMatchObject({ code: 'TIMEOUT', timeoutMs: 100 });
    expect(sem.waiting).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
    expect(sem.stats()).toMatchObject({ timedOut: 1, inUse: 1 });
    // No ghost: the release goes back to `available`, not to the timed-out waiter.
    held.release();
    expect(sem.available).toBe(1);
    expect(sem.stats().acquired).toBe(1);
  });

  it('a timed-out head serves the waiters behind it at once', async () => {
    vi.useFakeTimers();
    const sem = new Semaphore(2);
    const held = await sem.acquire();
    const heavy = sem.acquire({ weight: 2, timeout: 10 });
    heavy.catch(() => {});
    const light = sem.acquire();
    await vi.advanceTimersByTimeAsync(10);
    await expect(heavy).rejects.toBeInstanceOf(TimeoutError);
    expect(sem.inUse).toBe(2);
    (await light).release();
    held.release();
    expect(sem.available).toBe(2);
  });

  it('clears the timer when the wait is granted', async () => {
    vi.useFakeTimers();
    const sem = new Semaphore(1);
    const held = await sem.acquire();
    const waiter = sem.acquire({ timeout: 1000 });
    expect(vi.getTimerCount()).toBe(1);
    held.release();
    expect(vi.getTimerCount()).toBe(0);
    const permit = await waiter;
    await vi.advanceTimersByTimeAsync(2000);
    expect(permit.released).toBe(false);
    expect(sem.stats()).toMatchObject({ timedOut: 0, inUse: 1 });
    permit.release();
  });

  it('clears the timer and the listener when the wait is aborted', async () => {
    vi.useFakeTimers();
    const sem = new Semaphore(1);
    const held = await sem.acquire();
    const controller = new AbortController();
    const waiter = sem.acquire({ timeout: 1000, signal: controller.signal });
    controller.abort();
    await expect(waiter).rejects.toBeDefined();
    expect(vi.getTimerCount()).toBe(0);
    expect(listeners(controller.signal)).toBe(0);
    expect(sem.stats()).toMatchObject({ aborted: 1, timedOut: 0 });
    held.release();
  });

  it('arms no timer when the grant is immediate or no timeout is given', async () => {
    vi.useFakeTimers();
    const sem = new Semaphore(1);
    const permit = await sem.acquire({ timeout: 50 });
    expect(vi.getTimerCount()).toBe(0);
    const waiter = sem.acquire();
    expect(vi.getTimerCount()).toBe(0);
    permit.release();
    (await waiter).release();
  });

  it('the timeout removes the abort listener too', async () => {
    vi.useFakeTimers();
    const sem = new Semaphore(1);
    const held = await sem.acquire();
    const controller = new AbortController();
    const waiter = sem.acquire({ timeout: 5, signal: controller.signal });
    const rejection = expect(waiter).rejects.toBeInstanceOf(TimeoutError);
    await vi.advanceTimersByTimeAsync(5);
    await rejection;
    expect(listeners(controller.signal)).toBe(0);
    controller.abort();
    expect(sem.stats()).toMatchObject({ aborted: 0, timedOut: 1 });
    held.release();
  });

  it('timeout 0 means "do not wait": TimeoutError at once when no permit is free', async () => {
    vi.useFakeTimers();
    const sem = new Semaphore(1);
    const permit = await sem.acquire({ timeout: 0 });
    await expect(sem.acquire({ timeout: 0 })).rejects.toBeInstanceOf(TimeoutError);
    expect(vi.getTimerCount()).toBe(0);
    expect(sem.stats()).toMatchObject({ waiting: 0, timedOut: 1 });
    permit.release();
  });
});

describe('maxWaiting', () => {
  it('rejects with QueueFullError past maxWaiting and counts it', async () => {
    const sem = new Semaphore(1, { maxWaiting: 2 });
    const held = await sem.acquire();
    const a = sem.acquire();
    const b = sem.acquire();
    const c = sem.acquire();
    await expect(c).rejects.toBeInstanceOf(QueueFullError);
    await expect(c).rejects.toMatchObject({ code: 'QUEUE_FULL' });
    expect(sem.stats()).toMatchObject({ waiting: 2, rejected: 1 });
    held.release();
    // Room again once a waiter leaves the queue.
    const d = sem.acquire();
    expect(sem.waiting).toBe(2);
    (await a).release();
    (await b).release();
    (await d).release();
    expect(sem.available).toBe(1);
  });

  it('maxWaiting 0 never queues but still grants free permits', async () => {
    const sem = new Semaphore(1, { maxWaiting: 0 });
    const permit = await sem.acquire();
    await expect(sem.acquire()).rejects.toBeInstanceOf(QueueFullError);
    expect(sem.waiting).toBe(0);
    permit.release();
  });
});

describe('close (guarantee 4)', () => {
  it('rejects every waiter with ClosedError in FIFO order, later acquires too; holders still release', async () => {
    vi.useFakeTimers();
    const sem = new Semaphore(1);
    const held = await sem.acquire();
    const controller = new AbortController();
    const log: string[] = [];
    const waiters = [
      track(log, 'a', sem.acquire()),
      track(log, 'b', sem.acquire({ timeout: 1000 })),
      track(log, 'c', sem.acquire({ signal: controller.signal })),
    ];
    const reason = new Error('shutting down');
    sem.close(reason);
    expect(sem.waiting).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
    expect(listeners(controller.signal)).toBe(0);
    for (const waiter of waiters) {
      await expect(waiter).rejects.toBeInstanceOf(ClosedError);
      await expect(waiter).rejects.toMatchObject({ code: 'CLOSED', cause: reason });
    }
    expect(log).toEqual(['a:err', 'b:err', 'c:err']);
    await expect(sem.acquire()).rejects.toMatchObject({ code: 'CLOSED', cause: reason });
    expect(sem.tryAcquire()).toBeUndefined();
    await expect(sem.run(() => 1)).rejects.toBeInstanceOf(ClosedError);
    const idle = sem.onIdle();
    held.release();
    await idle;
    expect(sem.stats()).toMatchObject({ inUse: 0, available: 1, waiting: 0 });
    sem.close('again');
    await expect(sem.acquire()).rejects.toMatchObject({ cause: reason });
  });
});

describe('resize (guarantee 6)', () => {
  it('growing serves waiters at once, in order', async () => {
    const sem = new Semaphore(1);
    const held = await sem.acquire();
    const log: string[] = [];
    const a = track(
      log,
      'a',
      sem.acquire({ weight: 2 }).catch(() => null),
    );
    const b = track(log, 'b', sem.acquire());
    const c = track(log, 'c', sem.acquire());
    // weight 2 > capacity 1 is refused at once
    expect(sem.waiting).toBe(2);
    expect(await a).toBeNull();
    sem.resize(3);
    expect(sem.inUse).toBe(3);
    expect(sem.waiting).toBe(0);
    await flush();
    expect(log).toEqual(['a:ok', 'b:ok', 'c:ok']);
    held.release();
    (await b)?.release();
    (await c)?.release();
    expect(sem.available).toBe(3);
  });

  it('shrinking revokes nothing and grants nothing until the head fits again', async () => {
    const sem = new Semaphore(4);
    const permits = await Promise.all([1, 2, 3, 4].map(() => sem.acquire()));
    const waiter = sem.acquire();
    const log: string[] = [];
    track(log, 'waiter', waiter);
    sem.resize(2);
    expect(sem.inUse).toBe(4);
    expect(sem.available).toBe(0);
    expect(permits.every((p) => !p.released)).toBe(true);
    permits[0]?.release();
    permits[1]?.release();
    // inUse 2 === capacity 2: still nothing for the waiter.
    expect(sem.inUse).toBe(2);
    expect(sem.waiting).toBe(1);
    expect(sem.tryAcquire()).toBeUndefined();
    await flush();
    expect(log).toEqual([]);
    permits[2]?.release();
    expect(sem.inUse).toBe(2);
    expect(sem.waiting).toBe(0);
    permits[3]?.release();
    (await waiter).release();
    expect(sem.stats()).toMatchObject({ capacity: 2, available: 2, inUse: 0 });
  });

  it('shrinking rejects queued waiters whose weight no longer fits, with RangeError', async () => {
    const sem = new Semaphore(4);
    const held = await sem.acquire({ weight: 4 });
    const log: string[] = [];
    const a = track(log, 'a', sem.acquire({ weight: 3 }));
    const b = track(log, 'b', sem.acquire({ weight: 1 }));
    const c = track(log, 'c', sem.acquire({ weight: 4 }));
    sem.resize(2);
    expect(sem.waiting).toBe(1);
    await expect(a).rejects.toBeInstanceOf(RangeError);
    await expect(c).rejects.toThrow(/`weight`.*capacity \(2\).*4/);
    expect(log).toEqual(['a:err', 'c:err']);
    held.release();
    (await b).release();
    expect(sem.available).toBe(2);
  });

  it('resize(0) pauses without rejecting anyone', async () => {
    const sem = new Semaphore(2);
    const held = await sem.acquire();
    const waiter = sem.acquire({ weight: 2 });
    sem.resize(0);
    held.release();
    expect(sem.waiting).toBe(1);
    expect(sem.available).toBe(0);
    sem.resize(2);
    (await waiter).release();
    expect(sem.available).toBe(2);
  });

  it('removes the rejected waiters’ listeners and timers', async () => {
    vi.useFakeTimers();
    const sem = new Semaphore(3);
    const held = await sem.acquire();
    const controller = new AbortController();
    const waiter = sem.acquire({ weight: 3, signal: controller.signal, timeout: 100 });
    sem.resize(2);
    await expect(waiter).rejects.toBeInstanceOf(RangeError);
    expect(vi.getTimerCount()).toBe(0);
    expect(listeners(controller.signal)).toBe(0);
    held.release();
  });
});

describe('onIdle', () => {
  it('resolves at once when idle, else once nothing is held and nothing waits', async () => {
    const sem = new Semaphore(1);
    await sem.onIdle();
    const held = await sem.acquire();
    const waiter = sem.acquire();
    let idle = false;
    const done = sem.onIdle().then(() => {
      idle = true;
    });
    held.release();
    await flush();
    expect(idle).toBe(false);
    (await waiter).release();
    await done;
    expect(idle).toBe(true);
  });

  it('resolves when the last waiter is aborted and nothing is held', async () => {
    const sem = new Semaphore(0);
    const controller = new AbortController();
    const waiter = sem.acquire({ signal: controller.signal });
    waiter.catch(() => {});
    const idle = sem.onIdle();
    controller.abort();
    await idle;
    expect(sem.waiting).toBe(0);
  });
});

describe('run and wrap (guarantee 5)', () => {
  it('run releases after the callback settles, fulfilled or rejected, sync or async', async () => {
    const sem = new Semaphore(1);
    expect(await sem.run(() => 5)).toBe(5);
    expect(await sem.run(async () => 6)).toBe(6);
    await expect(
      sem.run(() => {
        throw new Error('sync');
      }),
    ).rejects.toThrow('sync');
    await expect(sem.run(async () => Promise.reject(new Error('async')))).rejects.toThrow('async');
    expect(sem.stats()).toMatchObject({ inUse: 0, available: 1, acquired: 4 });
  });

  it('run holds the permit while the callback runs', async () => {
    const sem = new Semaphore(1);
    let inside = -1;
    await sem.run(async () => {
      await flush();
      inside = sem.inUse;
    });
    expect(inside).toBe(1);
    expect(sem.inUse).toBe(0);
  });

  it('run passes weight and wait options through', async () => {
    vi.useFakeTimers();
    const sem = new Semaphore(2);
    const held = await sem.acquire();
    const result = sem.run(() => 1, { weight: 2, timeout: 10 });
    const rejection = expect(result).rejects.toBeInstanceOf(TimeoutError);
    await vi.advanceTimersByTimeAsync(10);
    await rejection;
    held.release();
    await sem.run(() => expect(sem.inUse).toBe(2), { weight: 2 });
  });

  it('run and wrap start the callback in the caller’s async context, across a wait', async () => {
    const als = new AsyncLocalStorage<string>();
    const sem = new Semaphore(1);
    const held = await sem.acquire();
    const fromRun = als.run('run-caller', () => sem.run(() => als.getStore()));
    const wrapped = sem.wrap(async (suffix: string) => `${als.getStore()}${suffix}`);
    const fromWrap = als.run('wrap-caller', () => wrapped('!'));
    const fast = new Semaphore(1);
    const fromFast = als.run('fast-caller', () => fast.run(() => als.getStore()));
    // The releaser runs in another context; the callbacks must not see it.
    als.run('releaser', () => held.release());
    expect(await fromRun).toBe('run-caller');
    expect(await fromWrap).toBe('wrap-caller!');
    expect(await fromFast).toBe('fast-caller');
  });

  it('wrap keeps `this` and the arguments', async () => {
    const sem = new Semaphore(1);
    const obj = {
      base: 10,
      add: sem.wrap(async function (this: { base: number }, a: number, b: number) {
        return this.base + a + b;
      }),
    };
    expect(await obj.add(1, 2)).toBe(13);
    const wrapped = sem.wrap((...args: number[]) => args.length);
    expect(await wrapped(1, 2, 3)).toBe(3);
  });

  it('wrap limits concurrency across calls', async () => {
    const sem = new Semaphore(2);
    let active = 0;
    let peak = 0;
    const work = sem.wrap(async () => {
      active++;
      peak = Math.max(peak, active);
      await flush();
      active--;
    });
    await Promise.all(Array.from({ length: 10 }, () => work()));
    expect(peak).toBe(2);
    expect(sem.stats()).toMatchObject({ maxInUse: 2, acquired: 10, inUse: 0 });
  });
});
