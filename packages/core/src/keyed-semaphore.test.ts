import { AsyncLocalStorage } from 'node:async_hooks';
import { getEventListeners } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ClosedError, QueueFullError, TimeoutError } from './errors.js';
import { KeyedSemaphore } from './keyed-semaphore.js';
import type { Permit } from './types.js';

async function flush(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

afterEach(() => {
  vi.useRealTimers();
});

describe('KeyedSemaphore', () => {
  it('limits each key on its own', async () => {
    const keyed = new KeyedSemaphore<string>(1);
    const a = await keyed.acquire('a');
    const b = await keyed.acquire('b');
    expect(keyed.size).toBe(2);
    expect(keyed.tryAcquire('a')).toBeUndefined();
    let second: Permit | undefined;
    keyed.acquire('a').then((p) => {
      second = p;
    });
    await flush();
    expect(second).toBeUndefined();
    expect(keyed.stats('a')).toMatchObject({ inUse: 1, waiting: 1, capacity: 1 });
    a.release();
    await flush();
    expect(second).toBeDefined();
    second?.release();
    b.release();
    expect(keyed.size).toBe(0);
  });

  it('serves each key in FIFO order with weights', async () => {
    const keyed = new KeyedSemaphore<string>(3);
    const held = await keyed.acquire('k', { weight: 2 });
    const order: string[] = [];
    const record = (name: string) => (permit: Permit) => {
      order.push(name);
      return permit;
    };
    const heavy = keyed.acquire('k', { weight: 3 }).then(record('heavy'));
    const light = keyed.acquire('k').then(record('light'));
    await flush();
    expect(order).toEqual([]);
    held.release();
    (await heavy).release();
    (await light).release();
    expect(order).toEqual(['heavy', 'light']);
    expect(keyed.size).toBe(0);
  });

  it('takes the capacity of each key from a function, read when the key comes alive', async () => {
    const capacity = vi.fn((key: string) => (key === 'admin' ? 3 : 1));
    const keyed = new KeyedSemaphore(capacity);
    const permits = await Promise.all([1, 2, 3].map(() => keyed.acquire('admin')));
    expect(keyed.stats('admin')).toMatchObject({ capacity: 3, inUse: 3 });
    expect(keyed.tryAcquire('user')).toBeDefined();
    expect(keyed.tryAcquire('user')).toBeUndefined();
    expect(capacity).toHaveBeenCalledTimes(2);
    for (const p of permits) p.release();
    await expect(keyed.acquire('user', { weight: 2 })).rejects.toThrow(RangeError);
  });

  it('refuses a key whose capacity function fails or returns a bad capacity', async () => {
    const keyed = new KeyedSemaphore<string>((key) => {
      if (key === 'throws') throw new Error('no capacity');
      return key === 'bad' ? -1 : 1;
    });
    await expect(keyed.acquire('bad')).rejects.toThrow(/`capacity`.*-1/);
    await expect(keyed.acquire('throws')).rejects.toThrow('no capacity');
    await expect(keyed.run('bad', () => 1)).rejects.toThrow(RangeError);
    expect(() => keyed.tryAcquire('bad')).toThrow(RangeError);
    expect(keyed.size).toBe(0);
  });

  it('drops a key as soon as nothing is held and nothing waits', async () => {
    const keyed = new KeyedSemaphore<number>(2);
    for (let i = 0; i < 10_000; i++) {
      const permit = await keyed.acquire(i);
      expect(keyed.size).toBe(1);
      permit.release();
    }
    const permits: Permit[] = [];
    for (let i = 0; i < 10_000; i++) permits.push(keyed.tryAcquire(i)!);
    expect(keyed.size).toBe(10_000);
    for (const p of permits) p.release();
    expect(keyed.size).toBe(0);
    await Promise.all(Array.from({ length: 1000 }, (_, i) => keyed.run(i % 7, () => flush())));
    expect(keyed.size).toBe(0);
    expect(keyed.stats(1)).toBeUndefined();
  });

  it('drops a key when its last waiter is aborted or times out', async () => {
    vi.useFakeTimers();
    const keyed = new KeyedSemaphore<string>((key) => (key === 'paused' ? 0 : 1));
    const controller = new AbortController();
    const aborted = keyed.acquire('paused', { signal: controller.signal });
    expect(keyed.size).toBe(1);
    controller.abort('off');
    await expect(aborted).rejects.toBe('off');
    expect(keyed.size).toBe(0);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);

    const timed = keyed.acquire('paused', { timeout: 50 });
    const rejection = expect(timed).rejects.toBeInstanceOf(TimeoutError);
    expect(keyed.size).toBe(1);
    await vi.advanceTimersByTimeAsync(50);
    await rejection;
    expect(keyed.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);

    // With a holder, the key lives until the holder releases.
    const held = await keyed.acquire('x');
    const waiter = keyed.acquire('x', { timeout: 5 });
    const rejection2 = expect(waiter).rejects.toBeInstanceOf(TimeoutError);
    await vi.advanceTimersByTimeAsync(5);
    await rejection2;
    expect(keyed.size).toBe(1);
    held.release();
    expect(keyed.size).toBe(0);
  });

  it('does not keep a key that was refused at once', async () => {
    const keyed = new KeyedSemaphore<string>((key) => (key === 'zero' ? 0 : 1), {
      maxWaiting: 0,
    });
    await expect(keyed.acquire('zero')).rejects.toBeInstanceOf(QueueFullError);
    expect(keyed.tryAcquire('zero')).toBeUndefined();
    await expect(keyed.acquire('one', { weight: 2 })).rejects.toThrow(RangeError);
    await expect(keyed.acquire('zero', { timeout: 0 })).rejects.toBeInstanceOf(QueueFullError);
    const controller = new AbortController();
    controller.abort('early');
    await expect(keyed.acquire('one', { signal: controller.signal })).rejects.toBe('early');
    expect(keyed.size).toBe(0);
  });

  it('applies maxWaiting per key', async () => {
    const keyed = new KeyedSemaphore<string>(1, { maxWaiting: 1 });
    const a = await keyed.acquire('a');
    const b = await keyed.acquire('b');
    const aw = keyed.acquire('a');
    const bw = keyed.acquire('b');
    await expect(keyed.acquire('a')).rejects.toBeInstanceOf(QueueFullError);
    expect(keyed.stats('a')).toMatchObject({ waiting: 1, rejected: 1 });
    a.release();
    b.release();
    (await aw).release();
    (await bw).release();
    expect(keyed.size).toBe(0);
  });

  it('refuses a new key beyond maxKeys, serving existing keys still', async () => {
    const keyed = new KeyedSemaphore<string>(1, { maxKeys: 2 });
    const a = await keyed.acquire('a');
    const b = await keyed.acquire('b');
    await expect(keyed.acquire('c')).rejects.toBeInstanceOf(QueueFullError);
    await expect(keyed.acquire('c')).rejects.toThrow(/maxKeys/);
    await expect(keyed.run('c', () => 1)).rejects.toBeInstanceOf(QueueFullError);
    expect(keyed.tryAcquire('c')).toBeUndefined();
    expect(keyed.size).toBe(2);
    const aw = keyed.acquire('a');
    a.release();
    (await aw).release();
    expect(keyed.size).toBe(1);
    const c = await keyed.acquire('c');
    expect(keyed.size).toBe(2);
    b.release();
    c.release();
    expect(keyed.size).toBe(0);
  });

  it('close rejects every waiter of every key and later acquires; holders still release', async () => {
    const keyed = new KeyedSemaphore<string>(1);
    const a = await keyed.acquire('a');
    const b = await keyed.acquire('b');
    const order: string[] = [];
    const waiters = ['a1', 'b1', 'a2'].map((name) =>
      keyed.acquire(name[0]!).catch((error: unknown) => {
        order.push(name);
        throw error;
      }),
    );
    keyed.close('done');
    for (const w of waiters) {
      await expect(w).rejects.toBeInstanceOf(ClosedError);
      await expect(w).rejects.toMatchObject({ cause: 'done' });
    }
    expect(order.filter((n) => n.startsWith('a'))).toEqual(['a1', 'a2']);
    await expect(keyed.acquire('a')).rejects.toBeInstanceOf(ClosedError);
    await expect(keyed.acquire('new')).rejects.toMatchObject({ code: 'CLOSED', cause: 'done' });
    expect(keyed.tryAcquire('new')).toBeUndefined();
    expect(keyed.tryAcquire('a')).toBeUndefined();
    a.release();
    b.release();
    expect(keyed.size).toBe(0);
  });

  it('one signal shared across keys: an abort cancels every waiter and drops their keys', async () => {
    const keyed = new KeyedSemaphore<number>(1);
    const held = await Promise.all([0, 1, 2].map((k) => keyed.acquire(k)));
    const controller = new AbortController();
    const waiters: Promise<Permit>[] = [];
    for (let i = 0; i < 3_000; i++) waiters.push(keyed.acquire(i, { signal: controller.signal }));
    expect(keyed.size).toBe(3_000);
    expect(getEventListeners(controller.signal, 'abort').length).toBeLessThanOrEqual(1);
    controller.abort('stop');
    const results = await Promise.allSettled(waiters);
    // Keys 3.. were free: granted at once. Keys 0..2 were held: their waiters are aborted.
    expect(results.filter((r) => r.status === 'rejected')).toHaveLength(3);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    for (const r of results) if (r.status === 'fulfilled') r.value.release();
    expect(keyed.size).toBe(3);
    for (const p of held) p.release();
    expect(keyed.size).toBe(0);
  });

  it('run starts the callback in the caller’s async context across a wait and releases after', async () => {
    const keyed = new KeyedSemaphore<string>(1);
    const als = new AsyncLocalStorage<string>();
    const held = await keyed.acquire('k');
    const result = als.run('caller', () => keyed.run('k', () => als.getStore()));
    als.run('releaser', () => held.release());
    expect(await result).toBe('caller');
    expect(keyed.size).toBe(0);
    await expect(
      keyed.run('k', () => {
        throw new Error('x');
      }),
    ).rejects.toThrow('x');
    expect(keyed.size).toBe(0);
  });

  it('rejects bad arguments, naming them, without creating a key', async () => {
    expect(() => new KeyedSemaphore(-1)).toThrow(/`capacity`.*-1/);
    expect(() => new KeyedSemaphore(1.5)).toThrow(RangeError);
    expect(() => new KeyedSemaphore('2' as never)).toThrow(TypeError);
    expect(() => new KeyedSemaphore(1, { maxWaiting: Number.NaN })).toThrow(/`maxWaiting`/);
    expect(() => new KeyedSemaphore(1, { maxKeys: -1 })).toThrow(/`maxKeys`.*-1/);
    const keyed = new KeyedSemaphore<string>(2);
    await expect(keyed.acquire('k', { weight: 0 })).rejects.toThrow(/`weight`.*0/);
    await expect(keyed.acquire('k', { weight: 3 })).rejects.toThrow(/`weight`.*capacity \(2\)/);
    await expect(keyed.acquire('k', { timeout: Number.NaN })).rejects.toThrow(/`timeout`/);
    await expect(keyed.acquire('k', { signal: {} as AbortSignal })).rejects.toThrow(TypeError);
    await expect(keyed.run('k', 5 as never)).rejects.toThrow(/`fn`/);
    expect(() => keyed.tryAcquire('k', -1)).toThrow(/`weight`.*-1/);
    expect(() => keyed.tryAcquire('k', 3)).toThrow(RangeError);
    expect(keyed.size).toBe(0);
    // An existing key rejects bad arguments the same way.
    const p = await keyed.acquire('k');
    await expect(keyed.acquire('k', { weight: 1.5 })).rejects.toThrow(RangeError);
    expect(keyed.stats('k')).toMatchObject({ inUse: 1, waiting: 0 });
    p.release();
    expect(keyed.size).toBe(0);
  });
});
