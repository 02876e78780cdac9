import { AsyncLocalStorage } from 'node:async_hooks';
import { getEventListeners } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AdaptiveSemaphore, type AdaptiveSemaphoreOptions } from './adaptive-semaphore.js';
import { ClosedError, QueueFullError, TimeoutError } from './errors.js';
import { limiterKind, limiterKindOf } from './limiter-kind.js';
import type { LimitAlgorithm, LimitSample } from './types.js';

async function flush(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

const listeners = (signal: AbortSignal): number => getEventListeners(signal, 'abort').length;

/** An algorithm that records its samples and answers what the test says (default: no change). */
function recorder(next: (sample: LimitSample, limit: number) => number = (_s, l) => l) {
  const samples: LimitSample[] = [];
  const algorithm: LimitAlgorithm = {
    update(sample, limit) {
      samples.push(sample);
      return next(sample, limit);
    },
  };
  return { samples, algorithm };
}

/** A semaphore with a fixed limit (the algorithm never moves it) and a clock the test moves. */
function fixed(limit: number, options: AdaptiveSemaphoreOptions = {}) {
  let time = 0;
  const rec = recorder();
  const sem = new AdaptiveSemaphore({
    algorithm: rec.algorithm,
    initialLimit: limit,
    minLimit: 1,
    now: () => time,
    ...options,
  });
  return {
    sem,
    samples: rec.samples,
    advance: (ms: number) => {
      time += ms;
    },
  };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('constructor', () => {
  it('has defaults: gradient2, limit 20 within [1, 1000]', () => {
    const sem = new AdaptiveSemaphore();
    expect(sem.limit).toBe(20);
    expect(sem.stats()).toEqual({
      capacity: 20,
      limit: 20,
      available: 20,
      inUse: 0,
      waiting: 0,
      maxInUse: 0,
      acquired: 0,
      timedOut: 0,
      aborted: 0,
      rejected: 0,
    });
  });

  it('clamps initialLimit into [minLimit, maxLimit]', () => {
    expect(new AdaptiveSemaphore({ initialLimit: 2, minLimit: 5 }).limit).toBe(5);
    expect(new AdaptiveSemaphore({ initialLimit: 50, maxLimit: 10 }).limit).toBe(10);
  });

  it('rejects bad options with errors that name them', () => {
    expect(() => new AdaptiveSemaphore({ minLimit: 0 })).toThrow(
      'Expected `minLimit` to be an integer >= 1, got 0',
    );
    expect(() => new AdaptiveSemaphore({ maxLimit: 2.5 })).toThrow(RangeError);
    expect(() => new AdaptiveSemaphore({ initialLimit: '3' as never })).toThrow(
      'Expected `initialLimit` to be a number, got "3" (string)',
    );
    expect(() => new AdaptiveSemaphore({ minLimit: 5, maxLimit: 4 })).toThrow(
      'Expected `maxLimit` to be at least `minLimit` (5), got 4',
    );
    expect(() => new AdaptiveSemaphore({ maxWaiting: -1 })).toThrow('`maxWaiting`');
    expect(() => new AdaptiveSemaphore({ algorithm: {} as never })).toThrow(
      'Expected `algorithm` to be an object with an `update` method, got an object',
    );
    expect(() => new AdaptiveSemaphore({ now: 5 as never })).toThrow('`now`');
    expect(() => new AdaptiveSemaphore({ onLimitChange: 'x' as never })).toThrow('`onLimitChange`');
    expect(() => new AdaptiveSemaphore(3 as never)).toThrow(TypeError);
  });

  it('carries the limiter brand', () => {
    const sem = new AdaptiveSemaphore();
    expect(sem[limiterKind]).toBe('limiter');
    expect(limiterKindOf(sem)).toBe('limiter');
  });
});

describe('permits and samples', () => {
  it('release() is a sample: rtt from the grant, inFlight when it started', async () => {
    const { sem, samples, advance } = fixed(3);
    const a = await sem.acquire();
    const b = await sem.acquire();
    advance(40);
    b.release();
    advance(10);
    a.release();
    expect(samples).toEqual([
      { rtt: 40, inFlight: 2, dropped: false },
      { rtt: 50, inFlight: 1, dropped: false },
    ]);
    expect(sem.stats()).toMatchObject({ inUse: 0, available: 3, acquired: 2, maxInUse: 2 });
  });

  it('drop() is a loss sample and ignore() is none', async () => {
    const { sem, samples, advance } = fixed(3);
    const a = await sem.acquire();
    const b = await sem.acquire();
    advance(7);
    a.drop();
    b.ignore();
    expect(samples).toEqual([{ rtt: 7, inFlight: 1, dropped: true }]);
    expect(sem.inUse).toBe(0);
    expect(a.released && b.released).toBe(true);
  });

  it('only the first of release/drop/ignore counts; the rest do nothing', async () => {
    const { sem, samples } = fixed(1);
    const a = await sem.acquire();
    const waiter = sem.acquire();
    a.ignore();
    a.release();
    a.drop();
    a[Symbol.dispose]();
    const b = await waiter;
    expect(samples).toEqual([]);
    expect(sem.inUse).toBe(1);
    b.drop();
    b.release();
    expect(samples).toHaveLength(1);
    expect(sem.stats()).toMatchObject({ inUse: 0, acquired: 2 });
  });

  it('works with `using`', async () => {
    const { sem, samples } = fixed(1);
    {
      using _permit = await sem.acquire();
      expect(sem.inUse).toBe(1);
    }
    expect(sem.inUse).toBe(0);
    expect(samples).toHaveLength(1);
  });

  it('a grant is synchronous: when release() returns, the head waiter holds the permit', async () => {
    const { sem } = fixed(1);
    const a = await sem.acquire();
    const waiter = sem.acquire();
    a.release();
    expect(sem.stats()).toMatchObject({ inUse: 1, waiting: 0 });
    expect(sem.tryAcquire()).toBeUndefined();
    (await waiter).release();
  });
});

describe('FIFO and cancellation (as Semaphore)', () => {
  it('serves waiters in arrival order; tryAcquire fails while anyone waits', async () => {
    const { sem } = fixed(2, { minLimit: 2 });
    const a = await sem.acquire({ weight: 2 });
    const order: string[] = [];
    const heavy = sem.acquire({ weight: 2 }).then((p) => {
      order.push('heavy');
      return p;
    });
    const light = sem.acquire().then((p) => {
      order.push('light');
      return p;
    });
    expect(sem.tryAcquire()).toBeUndefined();
    a.release();
    (await heavy).release();
    (await light).release();
    expect(order).toEqual(['heavy', 'light']);
  });

  it('an already-aborted signal rejects with its reason without touching state', async () => {
    const { sem } = fixed(1);
    const reason = new Error('gone');
    await expect(sem.acquire({ signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    expect(sem.stats()).toMatchObject({ inUse: 0, acquired: 0, aborted: 0 });
  });

  it('an abort while waiting rejects, serves those behind, and leaves no listener', async () => {
    const { sem } = fixed(1);
    const held = await sem.acquire();
    const controller = new AbortController();
    const aborted = sem.acquire({ signal: controller.signal });
    const next = sem.acquire();
    controller.abort('stop');
    await expect(aborted).rejects.toBe('stop');
    expect(listeners(controller.signal)).toBe(0);
    held.release();
    (await next).release();
    expect(sem.stats()).toMatchObject({ inUse: 0, waiting: 0, aborted: 1, acquired: 2 });
  });

  it('an abort in the same tick right after a grant: the grant wins, no permit lost', async () => {
    const { sem } = fixed(1);
    const held = await sem.acquire();
    const controller = new AbortController();
    const waiter = sem.acquire({ signal: controller.signal });
    held.release();
    controller.abort();
    const permit = await waiter;
    expect(sem.stats()).toMatchObject({ inUse: 1, aborted: 0, acquired: 2 });
    permit.release();
    expect(sem.available).toBe(1);
  });

  it('an abort in the same tick right before a release: the abort wins, the permit goes on', async () => {
    const { sem } = fixed(1);
    const held = await sem.acquire();
    const controller = new AbortController();
    const waiter = sem.acquire({ signal: controller.signal });
    const next = sem.acquire();
    controller.abort();
    held.release();
    await expect(waiter).rejects.toBeDefined();
    (await next).release();
    expect(sem.stats()).toMatchObject({ inUse: 0, aborted: 1, acquired: 2 });
  });

  it('a timeout rejects with TimeoutError and leaves no timer behind', async () => {
    vi.useFakeTimers();
    const { sem } = fixed(1);
    const held = await sem.acquire();
    const waiter = sem.acquire({ timeout: 50 });
    const assertion = expect(waiter).rejects.toBeInstanceOf(TimeoutError);
    await vi.advanceTimersByTimeAsync(50);
    await assertion;
    expect(vi.getTimerCount()).toBe(0);
    expect(sem.stats()).toMatchObject({ waiting: 0, timedOut: 1 });
    held.release();
    await expect(sem.acquire({ timeout: 0 })).resolves.toBeDefined();
  });

  it('maxWaiting refuses with QueueFullError', async () => {
    const { sem } = fixed(1, { maxWaiting: 1 });
    await sem.acquire();
    void sem.acquire();
    await expect(sem.acquire()).rejects.toBeInstanceOf(QueueFullError);
    expect(sem.stats().rejected).toBe(1);
  });

  it('close rejects waiters in FIFO order and later acquires; holders still release', async () => {
    const { sem, samples } = fixed(1);
    const held = await sem.acquire();
    const order: number[] = [];
    const waiters = [1, 2, 3].map((n) =>
      sem.acquire().catch((error: unknown) => {
        expect(error).toBeInstanceOf(ClosedError);
        expect((error as ClosedError).cause).toBe('bye');
        order.push(n);
      }),
    );
    sem.close('bye');
    await Promise.all(waiters);
    expect(order).toEqual([1, 2, 3]);
    await expect(sem.acquire()).rejects.toBeInstanceOf(ClosedError);
    expect(sem.tryAcquire()).toBeUndefined();
    held.release();
    expect(samples).toHaveLength(1);
    expect(sem.inUse).toBe(0);
  });

  it('refuses a weight above minLimit at once (it might never fit again), and bad weights', async () => {
    const { sem } = fixed(10, { minLimit: 2 });
    await expect(sem.acquire({ weight: 3 })).rejects.toThrow(
      'Expected `weight` to be at most `minLimit` (2), got 3',
    );
    expect(() => sem.tryAcquire(3)).toThrow(RangeError);
    expect(() => sem.tryAcquire(0)).toThrow(RangeError);
    await expect(sem.acquire({ weight: 1.5 })).rejects.toThrow(RangeError);
    expect(sem.waiting).toBe(0);
  });
});

describe('the limit moves', () => {
  it('follows the algorithm, clamped to [minLimit, maxLimit], floored, and reports each change', async () => {
    let answer = 0;
    const changes: Array<[number, number]> = [];
    const sem = new AdaptiveSemaphore({
      algorithm: { update: () => answer },
      initialLimit: 4,
      minLimit: 2,
      maxLimit: 6,
      onLimitChange: (limit, previous) => changes.push([limit, previous]),
    });
    for (answer of [5.7, 5.9, 100, 0, Number.NaN, 3]) (await sem.acquire()).release();
    expect(changes).toEqual([
      [5, 4],
      [6, 5],
      [2, 6],
      [3, 2],
    ]);
    expect(sem.stats()).toMatchObject({ limit: 3, capacity: 3 });
    expect(sem.capacity).toBe(3);
  });

  it('growing serves waiters at once, in order', async () => {
    let next = 1;
    const sem = new AdaptiveSemaphore({ algorithm: { update: () => next }, initialLimit: 1 });
    const a = await sem.acquire();
    const order: string[] = [];
    const w = ['b', 'c', 'd'].map((n) =>
      sem.acquire().then((p) => {
        order.push(n);
        return p;
      }),
    );
    next = 4;
    a.release();
    expect(sem.stats()).toMatchObject({ limit: 4, inUse: 3, waiting: 0 });
    const permits = await Promise.all(w);
    expect(order).toEqual(['b', 'c', 'd']);
    for (const p of permits) p.ignore();
  });

  it('shrinking revokes nothing and grants nothing until inUse falls under the new limit', async () => {
    let next = 4;
    const sem = new AdaptiveSemaphore({ algorithm: { update: () => next }, initialLimit: 4 });
    const held = await Promise.all([1, 2, 3, 4].map(() => sem.acquire()));
    const waiter = sem.acquire();
    let granted = false;
    void waiter.then(() => {
      granted = true;
    });
    next = 2;
    held[0]!.release(); // limit 2, inUse 3: nothing granted, nothing rejected
    await flush();
    expect(sem.stats()).toMatchObject({ limit: 2, inUse: 3, available: 0, waiting: 1 });
    held[1]!.ignore();
    held[2]!.ignore(); // inUse 1 < 2: the waiter gets its permit
    await flush();
    expect(granted).toBe(true);
    expect(sem.stats()).toMatchObject({ inUse: 2, waiting: 0 });
  });

  it('an algorithm or listener that throws leaves the limit sane and the release done', async () => {
    const reportError = vi.fn();
    vi.stubGlobal('reportError', reportError);
    try {
      const sem = new AdaptiveSemaphore({
        algorithm: {
          update: () => {
            throw new Error('bug');
          },
        },
        initialLimit: 3,
      });
      const permit = await sem.acquire();
      expect(() => permit.release()).not.toThrow();
      expect(sem.stats()).toMatchObject({ limit: 3, inUse: 0 });
      const noisy = new AdaptiveSemaphore({
        algorithm: { update: () => 5 },
        initialLimit: 3,
        onLimitChange: () => {
          throw new Error('listener');
        },
      });
      (await noisy.acquire()).release();
      expect(noisy.limit).toBe(5);
      expect(reportError).toHaveBeenCalledTimes(2);
    } finally {
      vi.unstubAllGlobals();
    }
  });
});

describe('run', () => {
  it('a fulfilled fn is a sample; TimeoutError and overload-marked errors are drops; others are ignored', async () => {
    const { sem, samples } = fixed(2);
    await expect(sem.run(() => 1)).resolves.toBe(1);
    await expect(sem.run(async () => Promise.reject(new TimeoutError(5)))).rejects.toBeInstanceOf(
      TimeoutError,
    );
    const marked = Object.assign(new Error('503'), { overload: true });
    await expect(sem.run(() => Promise.reject(marked))).rejects.toBe(marked);
    await expect(
      sem.run(() => {
        throw new Error('bad request');
      }),
    ).rejects.toThrow('bad request');
    expect(samples.map((s) => s.dropped)).toEqual([false, true, true]);
    expect(sem.inUse).toBe(0);
  });

  it('always starts fn asynchronously, after run returns, even with permits free', async () => {
    const { sem } = fixed(1);
    let called = false;
    const result = sem.run(() => {
      called = true;
    });
    expect(called).toBe(false);
    expect(sem.inUse).toBe(1);
    await result;
    expect(called).toBe(true);
  });

  it('starts fn in the caller’s async context, across a wait', async () => {
    const { sem } = fixed(1);
    const storage = new AsyncLocalStorage<string>();
    const held = await sem.acquire();
    const seen = storage.run('caller', () => sem.run(() => storage.getStore()));
    storage.run('releaser', () => held.release());
    await expect(seen).resolves.toBe('caller');
  });

  it('rejects a non-function without acquiring', async () => {
    const { sem } = fixed(1);
    await expect(sem.run(5 as never)).rejects.toThrow(
      'Expected `fn` to be a function, got 5 (number)',
    );
    expect(sem.stats().acquired).toBe(0);
  });
});
