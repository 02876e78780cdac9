import { AsyncLocalStorage } from 'node:async_hooks';
import { describe, expect, it, vi } from 'vitest';
import { ClosedError, QueueFullError, TimeoutError } from './errors.js';
import { Lock } from './lock.js';

async function flush(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

describe('Lock', () => {
  it('is held by one caller at a time, `locked` says so', async () => {
    const lock = new Lock();
    expect(lock.locked).toBe(false);
    const permit = await lock.acquire();
    expect(lock.locked).toBe(true);
    expect(permit.weight).toBe(1);
    expect(lock.tryAcquire()).toBeUndefined();
    permit.release();
    expect(lock.locked).toBe(false);
    const again = lock.tryAcquire();
    expect(again).toBeDefined();
    again?.release();
    again?.release();
    expect(lock.stats()).toMatchObject({ capacity: 1, inUse: 0, available: 1, acquired: 2 });
  });

  it('runs critical sections one after another, in arrival order', async () => {
    const lock = new Lock();
    const events: string[] = [];
    const section = (name: string) =>
      lock.run(async () => {
        events.push(`${name}>`);
        await flush();
        events.push(`<${name}`);
        return name;
      });
    const results = await Promise.all([section('a'), section('b'), section('c')]);
    expect(results).toEqual(['a', 'b', 'c']);
    expect(events).toEqual(['a>', '<a', 'b>', '<b', 'c>', '<c']);
    expect(lock.stats().maxInUse).toBe(1);
  });

  it('hands over synchronously: no barging by tryAcquire after a release', async () => {
    const lock = new Lock();
    const first = await lock.acquire();
    const second = lock.acquire();
    first.release();
    expect(lock.locked).toBe(true);
    expect(lock.tryAcquire()).toBeUndefined();
    (await second).release();
    expect(lock.locked).toBe(false);
  });

  it('supports timeout, signal and maxWaiting', async () => {
    vi.useFakeTimers();
    try {
      const lock = new Lock({ maxWaiting: 1 });
      const held = await lock.acquire();
      const timed = lock.acquire({ timeout: 10 });
      const rejection = expect(timed).rejects.toBeInstanceOf(TimeoutError);
      await expect(lock.acquire()).rejects.toBeInstanceOf(QueueFullError);
      await vi.advanceTimersByTimeAsync(10);
      await rejection;
      const controller = new AbortController();
      const aborted = lock.acquire({ signal: controller.signal });
      controller.abort('stop');
      await expect(aborted).rejects.toBe('stop');
      expect(vi.getTimerCount()).toBe(0);
      expect(lock.stats()).toMatchObject({ timedOut: 1, aborted: 1, rejected: 1, waiting: 0 });
      held.release();
      expect(lock.locked).toBe(false);
    } finally {
      vi.useRealTimers();
    }
  });

  it('close rejects waiters in order and later acquires; the holder can still release', async () => {
    const lock = new Lock();
    const held = await lock.acquire();
    const order: number[] = [];
    const waiters = [1, 2, 3].map((i) =>
      lock.acquire().catch((error: unknown) => {
        order.push(i);
        throw error;
      }),
    );
    lock.close('bye');
    for (const waiter of waiters) await expect(waiter).rejects.toMatchObject({ cause: 'bye' });
    expect(order).toEqual([1, 2, 3]);
    await expect(lock.acquire()).rejects.toBeInstanceOf(ClosedError);
    expect(lock.tryAcquire()).toBeUndefined();
    const idle = lock.onIdle();
    held.release();
    await idle;
    expect(lock.locked).toBe(false);
  });

  it('wrap keeps `this`, the arguments and the caller’s async context', async () => {
    const lock = new Lock();
    const als = new AsyncLocalStorage<string>();
    const counter = {
      n: 0,
      add: lock.wrap(async function (this: { n: number }, by: number) {
        this.n += by;
        return `${als.getStore()}:${this.n}`;
      }),
    };
    const held = await lock.acquire();
    const result = als.run('caller', () => counter.add(5));
    als.run('releaser', () => held.release());
    expect(await result).toBe('caller:5');
  });

  it('rejects bad arguments', async () => {
    const lock = new Lock();
    await expect(lock.acquire({ timeout: -1 })).rejects.toThrow(/`timeout`.*-1/);
    await expect(lock.run('nope' as never)).rejects.toThrow(/`fn`/);
    expect(() => lock.wrap(undefined as never)).toThrow(/`fn`/);
    expect(() => new Lock({ maxWaiting: -2 })).toThrow(/`maxWaiting`.*-2/);
    expect(lock.stats()).toMatchObject({ inUse: 0, acquired: 0 });
  });
});
