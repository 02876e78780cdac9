// When `run` starts its function, pinned for every entry point that goes through it: the
// function never runs before the call returns, whether a permit was free or it had to wait
// (never sometimes-sync). One suite, run against each implementation.

import { AsyncLocalStorage } from 'node:async_hooks';
import { describe, expect, it } from 'vitest';
import { KeyedSemaphore } from './keyed-semaphore.js';
import { Lock } from './lock.js';
import { Semaphore } from './semaphore.js';
import type { AcquireOptions, Permit } from './types.js';

async function flush(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

/** One way of running `fn` under a limit of `capacity`, and the gauges to look at. */
interface Runner {
  run<T>(fn: () => T | PromiseLike<T>, options?: AcquireOptions): Promise<T>;
  acquire(): Promise<Permit>;
  tryAcquire(): Permit | undefined;
  inUse(): number;
  waiting(): number;
}

type Make = (capacity: number) => Runner;

const semaphoreRun: Make = (capacity) => {
  const sem = new Semaphore(capacity);
  return {
    run: (fn, options) => sem.run(fn, options),
    acquire: () => sem.acquire(),
    tryAcquire: () => sem.tryAcquire(),
    inUse: () => sem.inUse,
    waiting: () => sem.waiting,
  };
};

const semaphoreWrap: Make = (capacity) => {
  const sem = new Semaphore(capacity);
  return {
    run: (fn, options) => sem.wrap(fn, options)(),
    acquire: () => sem.acquire(),
    tryAcquire: () => sem.tryAcquire(),
    inUse: () => sem.inUse,
    waiting: () => sem.waiting,
  };
};

const keyedRun: Make = (capacity) => {
  const keyed = new KeyedSemaphore<string>(capacity);
  return {
    run: (fn, options) => keyed.run('k', fn, options),
    acquire: () => keyed.acquire('k'),
    tryAcquire: () => keyed.tryAcquire('k'),
    inUse: () => keyed.stats('k')?.inUse ?? 0,
    waiting: () => keyed.stats('k')?.waiting ?? 0,
  };
};

// A Lock has capacity 1: the suite below only ever asks for 1.
const lockRun = (wrap: boolean): Make => {
  return (capacity) => {
    expect(capacity).toBe(1);
    const lock = new Lock();
    const stats = () => lock.stats();
    return {
      run: (fn, options) => (wrap ? lock.wrap(fn, options)() : lock.run(fn, options)),
      acquire: () => lock.acquire(),
      tryAcquire: () => lock.tryAcquire(),
      inUse: () => stats().inUse,
      waiting: () => stats().waiting,
    };
  };
};

describe.each([
  ['Semaphore.run', semaphoreRun],
  ['Semaphore.wrap', semaphoreWrap],
  ['Lock.run', lockRun(false)],
  ['Lock.wrap', lockRun(true)],
  ['KeyedSemaphore.run', keyedRun],
] as const)('%s starts its function asynchronously', (_name, make) => {
  it('never before it returns, with a permit free or after a wait: the same order both ways', async () => {
    const free = make(1);
    const log: string[] = [];
    const atOnce = free.run(() => log.push('free: fn'));
    log.push('free: returned');
    await atOnce;

    const busy = make(1);
    const held = await busy.acquire();
    const queued = busy.run(() => log.push('queued: fn'));
    log.push('queued: returned');
    held.release();
    log.push('queued: released');
    await queued;

    expect(log).toEqual([
      'free: returned',
      'free: fn',
      'queued: returned',
      'queued: released',
      'queued: fn',
    ]);
  });

  it('takes a free permit at the call and runs the function later, reading the world as it is then', async () => {
    const limiter = make(1);
    let value = 1;
    const result = limiter.run(() => value);
    expect(limiter.inUse()).toBe(1);
    // The permit is taken: no barging, a newcomer is refused.
    expect(limiter.tryAcquire()).toBeUndefined();
    value = 2;
    expect(await result).toBe(2);
    expect(limiter.inUse()).toBe(0);
  });

  // async-mutex's "exceptions during runExclusive do not leave the mutex locked", as our own
  // test: the throwing call takes the only permit, the next call queues behind it.
  it('a function that throws does not keep its permit (after async-mutex)', async () => {
    const limiter = make(1);
    let flag = false;
    const failing = limiter.run(() => {
      flag = true;
      throw new Error('thrown by fn');
    });
    failing.catch(() => {});
    expect(flag).toBe(false);
    await limiter.run(() => undefined);
    expect(flag).toBe(true);
    await expect(failing).rejects.toThrow('thrown by fn');
    expect(limiter.inUse()).toBe(0);
    expect(limiter.waiting()).toBe(0);
  });

  it('a synchronous throw rejects the returned promise; run() itself never throws', async () => {
    const limiter = make(1);
    let promise: Promise<unknown> | undefined;
    expect(() => {
      promise = limiter.run(() => {
        throw new TypeError('sync');
      });
    }).not.toThrow();
    await expect(promise).rejects.toThrow('sync');
    expect(limiter.inUse()).toBe(0);
  });

  it('an abort after the permit was taken, before the function started, changes nothing', async () => {
    const limiter = make(1);
    const controller = new AbortController();
    let ran = false;
    const result = limiter.run(
      () => {
        ran = true;
        return 'done';
      },
      { signal: controller.signal },
    );
    controller.abort(new Error('too late'));
    expect(await result).toBe('done');
    expect(ran).toBe(true);
    expect(limiter.inUse()).toBe(0);
  });

  it('starts the function in the caller’s async context, served at once or after a wait', async () => {
    const als = new AsyncLocalStorage<string>();
    const free = make(1);
    const fromFree = als.run('free-caller', () => free.run(() => als.getStore()));
    const busy = make(1);
    const held = await busy.acquire();
    const fromQueued = als.run('queued-caller', () => busy.run(() => als.getStore()));
    als.run('releaser', () => held.release());
    expect(await fromFree).toBe('free-caller');
    expect(await fromQueued).toBe('queued-caller');
  });

  it('holds the permit from the call until the function settles', async () => {
    const limiter = make(1);
    const seen: number[] = [];
    const result = limiter.run(async () => {
      seen.push(limiter.inUse());
      await flush();
      seen.push(limiter.inUse());
      return 'ok';
    });
    seen.push(limiter.inUse());
    expect(await result).toBe('ok');
    expect(seen).toEqual([1, 1, 1]);
    expect(limiter.inUse()).toBe(0);
  });
});

describe.each([
  ['Semaphore.run', semaphoreRun],
  ['Semaphore.wrap', semaphoreWrap],
  ['KeyedSemaphore.run', keyedRun],
] as const)('%s with room for several', (_name, make) => {
  // p-limit's "runs all tasks asynchronously", as our own test: both calls hold a permit at
  // once (the gauges say so), and neither has run when the caller's next line runs.
  it('runs all tasks asynchronously (after p-limit)', async () => {
    const limiter = make(3);
    let value = 1;
    const one = limiter.run(() => 1);
    const two = limiter.run(() => value);
    expect(limiter.inUse()).toBe(2);
    value = 2;
    expect(await Promise.all([one, two])).toEqual([1, 2]);
    expect(limiter.inUse()).toBe(0);
  });

  // async-mutex's semaphore variant: one permit held elsewhere, the throwing call takes the other.
  it('exceptions during run do not leave the semaphore locked (after async-mutex)', async () => {
    const limiter = make(2);
    await limiter.acquire();
    let flag = false;
    limiter
      .run(() => {
        flag = true;
        throw new Error('thrown by fn');
      })
      .then(undefined, () => undefined);
    expect(flag).toBe(false);
    await limiter.run(() => undefined);
    expect(flag).toBe(true);
    expect(limiter.inUse()).toBe(1);
  });
});

describe('Semaphore.run start, around close', () => {
  it('close() after run() took a free permit: the function still runs (the permit is its own)', async () => {
    const sem = new Semaphore(1);
    let ran = false;
    const result = sem.run(() => {
      ran = true;
      return 1;
    });
    sem.close('shutting down');
    expect(await result).toBe(1);
    expect(ran).toBe(true);
    expect(sem.inUse).toBe(0);
    await expect(sem.run(() => 2)).rejects.toMatchObject({ code: 'CLOSED' });
  });
});
