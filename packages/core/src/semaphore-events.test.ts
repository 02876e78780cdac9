import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ClosedError, QueueFullError, TimeoutError } from './errors.js';
import type { LimiterEvent } from './events.js';
import { recordEvents } from './internal/record-events.js';
import { KeyedSemaphore } from './keyed-semaphore.js';
import { Lock } from './lock.js';
import { Semaphore } from './semaphore.js';

// Events of the semaphore family (Semaphore, Lock, KeyedSemaphore). Times are exact: the fake
// clock (which fakes performance.now too) only moves when the test moves it.

const record = recordEvents;

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

describe('Semaphore events', () => {
  it('an immediate grant and its release: acquired (waitedMs 0), released (heldMs)', async () => {
    const sem = new Semaphore(3);
    const { events } = record(sem);
    const permit = await sem.acquire({ weight: 2 });
    vi.advanceTimersByTime(30);
    permit.release();
    permit.release(); // idempotent: no second event
    expect(events).toStrictEqual([
      { type: 'acquired', weight: 2, waitedMs: 0 },
      { type: 'released', weight: 2, heldMs: 30 },
    ]);
  });

  it('a wait: queued, then released by the holder and acquired with waitedMs, in that order', async () => {
    const sem = new Semaphore(1);
    const { events } = record(sem);
    const held = await sem.acquire();
    vi.advanceTimersByTime(5);
    const waiter = sem.acquire();
    vi.advanceTimersByTime(20);
    held.release();
    const permit = await waiter;
    vi.advanceTimersByTime(7);
    permit.release();
    expect(events).toStrictEqual([
      { type: 'acquired', weight: 1, waitedMs: 0 },
      { type: 'queued', weight: 1 },
      { type: 'released', weight: 1, heldMs: 25 },
      { type: 'acquired', weight: 1, waitedMs: 20 },
      { type: 'released', weight: 1, heldMs: 7 },
    ]);
  });

  it('the listener sees the state already updated (a grant is synchronous)', async () => {
    const sem = new Semaphore(1);
    const seen: Array<[string, number, number]> = [];
    sem.subscribe((event) => seen.push([event.type, sem.inUse, sem.waiting]));
    const held = await sem.acquire();
    const waiter = sem.acquire();
    held.release();
    (await waiter).release();
    expect(seen).toEqual([
      ['acquired', 1, 0],
      ['queued', 1, 1],
      ['released', 0, 1],
      ['acquired', 1, 0],
      ['released', 0, 0],
    ]);
  });

  it('waiters are reported in FIFO order, heavy head first', async () => {
    const sem = new Semaphore(2);
    const { events } = record(sem);
    const held = await sem.acquire({ weight: 2 });
    const a = sem.acquire({ weight: 2 });
    vi.advanceTimersByTime(1);
    const b = sem.acquire();
    vi.advanceTimersByTime(1);
    const c = sem.acquire();
    vi.advanceTimersByTime(1);
    held.release();
    (await a).release();
    (await b).release();
    (await c).release();
    const order = events.map((e) =>
      e.type === 'acquired' || e.type === 'queued' || e.type === 'released'
        ? `${e.type}:${e.weight}`
        : e.type,
    );
    expect(order).toEqual([
      'acquired:2',
      'queued:2',
      'queued:1',
      'queued:1',
      'released:2',
      'acquired:2',
      'released:2',
      'acquired:1',
      'acquired:1',
      'released:1',
      'released:1',
    ]);
    expect(events.filter((e) => e.type === 'acquired').map((e) => e.waitedMs)).toEqual([
      0, 3, 2, 1,
    ]);
  });

  it('tryAcquire reports its grant; a refused tryAcquire reports nothing', () => {
    const sem = new Semaphore(1);
    const { events } = record(sem);
    const permit = sem.tryAcquire()!;
    expect(sem.tryAcquire()).toBeUndefined();
    permit.release();
    expect(events).toStrictEqual([
      { type: 'acquired', weight: 1, waitedMs: 0 },
      { type: 'released', weight: 1, heldMs: 0 },
    ]);
  });

  it('run and wrap report the grant and the release', async () => {
    const sem = new Semaphore(1);
    const { events } = record(sem);
    await sem.run(async () => {
      await vi.advanceTimersByTimeAsync(12);
    });
    await sem.wrap((x: number) => x * 2)(21);
    expect(events).toStrictEqual([
      { type: 'acquired', weight: 1, waitedMs: 0 },
      { type: 'released', weight: 1, heldMs: 12 },
      { type: 'acquired', weight: 1, waitedMs: 0 },
      { type: 'released', weight: 1, heldMs: 0 },
    ]);
  });

  it('rejected queue_full: refused at once past maxWaiting', async () => {
    const sem = new Semaphore(1, { maxWaiting: 0 });
    const { events } = record(sem);
    const held = await sem.acquire();
    await expect(sem.acquire({ weight: 1 })).rejects.toBeInstanceOf(QueueFullError);
    await expect(sem.acquire()).rejects.toBeInstanceOf(QueueFullError);
    held.release();
    expect(events.slice(1, 3)).toStrictEqual([
      { type: 'rejected', reason: 'queue_full', weight: 1, waitedMs: 0 },
      { type: 'rejected', reason: 'queue_full', weight: 1, waitedMs: 0 },
    ]);
  });

  it('rejected queue_timeout: after the wait, and at once for timeout 0', async () => {
    const sem = new Semaphore(2);
    const { events } = record(sem);
    const held = await sem.acquire({ weight: 2 });
    const waiter = sem.acquire({ weight: 2, timeout: 50 });
    const rejection = expect(waiter).rejects.toBeInstanceOf(TimeoutError);
    await vi.advanceTimersByTimeAsync(50);
    await rejection;
    await expect(sem.acquire({ timeout: 0 })).rejects.toBeInstanceOf(TimeoutError);
    held.release();
    expect(events).toStrictEqual([
      { type: 'acquired', weight: 2, waitedMs: 0 },
      { type: 'queued', weight: 2 },
      { type: 'rejected', reason: 'queue_timeout', weight: 2, waitedMs: 50 },
      { type: 'rejected', reason: 'queue_timeout', weight: 1, waitedMs: 0 },
      { type: 'released', weight: 2, heldMs: 50 },
    ]);
  });

  it('rejected aborted: a waiting acquire (with waitedMs) and an already-aborted signal', async () => {
    const sem = new Semaphore(1);
    const { events } = record(sem);
    const held = await sem.acquire();
    const controller = new AbortController();
    const waiter = sem.acquire({ signal: controller.signal });
    vi.advanceTimersByTime(15);
    controller.abort(new Error('gone'));
    await expect(waiter).rejects.toThrow('gone');
    await expect(sem.acquire({ signal: controller.signal })).rejects.toThrow('gone');
    held.release();
    expect(events.slice(1, 4)).toStrictEqual([
      { type: 'queued', weight: 1 },
      { type: 'rejected', reason: 'aborted', weight: 1, waitedMs: 15 },
      { type: 'rejected', reason: 'aborted', weight: 1, waitedMs: 0 },
    ]);
  });

  it('a shared signal: every aborted waiter is reported (FIFO) before the waiter behind is served', async () => {
    const sem = new Semaphore(2);
    const { events } = record(sem);
    const held = await sem.acquire();
    const controller = new AbortController();
    const a = sem.acquire({ weight: 2, signal: controller.signal });
    const b = sem.acquire({ weight: 2, signal: controller.signal });
    const c = sem.acquire();
    controller.abort();
    await expect(a).rejects.toBeDefined();
    await expect(b).rejects.toBeDefined();
    (await c).release();
    held.release();
    expect(events.map((e) => (e.type === 'rejected' ? `${e.reason}:${e.weight}` : e.type))).toEqual(
      [
        'acquired',
        'queued',
        'queued',
        'queued',
        'aborted:2',
        'aborted:2',
        'acquired',
        'released',
        'released',
      ],
    );
  });

  it('rejected closed: the waiters in FIFO order with waitedMs, then later acquires at once', async () => {
    const sem = new Semaphore(1);
    const { events } = record(sem);
    const held = await sem.acquire();
    const a = sem.acquire();
    vi.advanceTimersByTime(4);
    const b = sem.acquire({ weight: 1, timeout: 1000 });
    vi.advanceTimersByTime(6);
    sem.close('bye');
    await expect(a).rejects.toBeInstanceOf(ClosedError);
    await expect(b).rejects.toBeInstanceOf(ClosedError);
    await expect(sem.acquire()).rejects.toBeInstanceOf(ClosedError);
    held.release();
    expect(events.slice(3)).toStrictEqual([
      { type: 'rejected', reason: 'closed', weight: 1, waitedMs: 10 },
      { type: 'rejected', reason: 'closed', weight: 1, waitedMs: 6 },
      { type: 'rejected', reason: 'closed', weight: 1, waitedMs: 0 },
      { type: 'released', weight: 1, heldMs: 10 },
    ]);
  });

  it('bad arguments report nothing (they throw or reject with TypeError/RangeError)', async () => {
    const sem = new Semaphore(1);
    const { events } = record(sem);
    await expect(sem.acquire({ weight: 2 })).rejects.toBeInstanceOf(RangeError);
    expect(() => sem.tryAcquire(0)).toThrow(RangeError);
    expect(events).toEqual([]);
  });

  it('a permit granted before subscribing reports heldMs from the subscription', async () => {
    const sem = new Semaphore(1);
    const early = await sem.acquire();
    const waiter = sem.acquire();
    vi.advanceTimersByTime(100);
    const { events } = record(sem);
    vi.advanceTimersByTime(10);
    early.release();
    (await waiter).release();
    expect(events).toStrictEqual([
      { type: 'released', weight: 1, heldMs: 10 },
      { type: 'acquired', weight: 1, waitedMs: 10 },
      { type: 'released', weight: 1, heldMs: 0 },
    ]);
  });

  it('waiters queued before subscribing: close reports each, timed from the subscription', async () => {
    const sem = new Semaphore(1);
    await sem.acquire();
    // Plain waiters (no signal, no timeout) queued while nobody listens carry no time at all.
    const waiters = [sem.acquire(), sem.acquire({ weight: 1 })];
    for (const w of waiters) w.catch(() => undefined);
    vi.advanceTimersByTime(50);
    const { events } = record(sem);
    const late = sem.acquire();
    late.catch(() => undefined);
    vi.advanceTimersByTime(20);
    sem.close();
    expect(events).toStrictEqual([
      { type: 'queued', weight: 1 },
      { type: 'rejected', reason: 'closed', weight: 1, waitedMs: 20 },
      { type: 'rejected', reason: 'closed', weight: 1, waitedMs: 20 },
      { type: 'rejected', reason: 'closed', weight: 1, waitedMs: 20 },
    ]);
    for (const w of [...waiters, late]) await expect(w).rejects.toMatchObject({ code: 'CLOSED' });
    expect(sem.waiting).toBe(0);
  });
});

describe('listeners', () => {
  it('a throwing listener breaks nothing: grants and releases go on, the error goes to reportError', async () => {
    const reportError = vi.fn();
    vi.stubGlobal('reportError', reportError);
    const sem = new Semaphore(1);
    const boom = new Error('listener bug');
    sem.subscribe(() => {
      throw boom;
    });
    const { events } = record(sem);
    const held = await sem.acquire();
    const waiter = sem.acquire();
    held.release();
    const permit = await waiter;
    expect(sem.inUse).toBe(1);
    permit.release();
    expect(sem.available).toBe(1);
    expect(events.map((e) => e.type)).toEqual([
      'acquired',
      'queued',
      'released',
      'acquired',
      'released',
    ]);
    expect(reportError).toHaveBeenCalledTimes(5);
    expect(reportError).toHaveBeenCalledWith(boom);
  });

  it('without reportError the error goes to console.error', async () => {
    vi.stubGlobal('reportError', undefined);
    const consoleError = vi.spyOn(console, 'error').mockImplementation(() => {});
    const sem = new Semaphore(1);
    const boom = new Error('listener bug');
    sem.subscribe(() => {
      throw boom;
    });
    (await sem.acquire()).release();
    expect(consoleError).toHaveBeenCalledTimes(2);
    expect(consoleError).toHaveBeenCalledWith(boom);
  });

  it('unsubscribe is idempotent, and an unsubscribed listener receives nothing', async () => {
    const sem = new Semaphore(1);
    const a = record(sem);
    const b = record(sem);
    (await sem.acquire()).release();
    a.stop();
    a.stop();
    (await sem.acquire()).release();
    b.stop();
    (await sem.acquire()).release();
    expect(a.events).toHaveLength(2);
    expect(b.events).toHaveLength(4);
  });

  it('the same function subscribed twice is called twice; each unsubscribe removes one', () => {
    const sem = new Semaphore(2);
    const seen: string[] = [];
    const listener = (event: LimiterEvent) => seen.push(event.type);
    const first = sem.subscribe(listener);
    sem.subscribe(listener);
    sem.tryAcquire();
    first();
    sem.tryAcquire();
    expect(seen).toEqual(['acquired', 'acquired', 'acquired']);
  });

  it('snapshot dispatch: added during an event hears the next one; removed during an event hears no more', () => {
    const sem = new Semaphore(2);
    const seen: string[] = [];
    let stopB: () => void = () => {};
    let added = false;
    sem.subscribe((event) => {
      seen.push(`a:${event.type}`);
      stopB();
      if (!added) {
        added = true;
        sem.subscribe((e) => seen.push(`c:${e.type}`));
      }
    });
    stopB = sem.subscribe((event) => seen.push(`b:${event.type}`));
    const permit = sem.tryAcquire()!;
    permit.release();
    expect(seen).toEqual(['a:acquired', 'a:released', 'c:released']);
  });

  it('a listener may call into the limiter; the aborted group is settled before it runs', async () => {
    const sem = new Semaphore(1);
    const held = await sem.acquire();
    const controller = new AbortController();
    const a = sem.acquire({ signal: controller.signal });
    const b = sem.acquire({ signal: controller.signal });
    const c = sem.acquire();
    // Releasing from inside the first 'aborted' event must not grant `b`, aborted by the same signal.
    sem.subscribe((event) => {
      if (event.type === 'rejected' && !held.released) held.release();
    });
    controller.abort();
    await expect(a).rejects.toBeDefined();
    await expect(b).rejects.toBeDefined();
    const permit = await c;
    expect(sem.stats()).toMatchObject({ inUse: 1, waiting: 0, aborted: 2 });
    permit.release();
  });

  it('a non-function listener is a TypeError naming the argument', () => {
    const sem = new Semaphore(1);
    expect(() => sem.subscribe('nope' as never)).toThrow(
      new TypeError('Expected `listener` to be a function, got "nope" (string)'),
    );
  });

  it('with no listener (never, or after the last unsubscribes) no clock is read', async () => {
    const now = vi.spyOn(performance, 'now');
    const sem = new Semaphore(1);
    const use = async () => {
      const held = await sem.acquire();
      const waiter = sem.acquire({ timeout: 1000 });
      held.release();
      (await waiter).release();
      sem.tryAcquire()?.release();
      (await sem.acquire({ timeout: 0 })).release();
    };
    await use();
    expect(now).not.toHaveBeenCalled();
    const stop = sem.subscribe(() => {});
    sem.tryAcquire()?.release();
    sem.tryAcquire()?.release();
    expect(now).toHaveBeenCalled();
    stop();
    now.mockClear();
    await use();
    expect(now).not.toHaveBeenCalled();
  });

  it('an unsubscribed listener is not retained', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const sem = new Semaphore(1);
    let listener: ((event: LimiterEvent) => void) | undefined = () => {};
    const ref = new WeakRef(listener);
    const stop = sem.subscribe(listener);
    listener = undefined;
    (await sem.acquire()).release();
    stop();
    // Let the collector run; the unsubscribe function itself is still held here.
    vi.useRealTimers();
    for (let i = 0; i < 10 && ref.deref() !== undefined; i++) {
      await new Promise((resolve) => setTimeout(resolve, 0));
      gc();
    }
    expect(ref.deref()).toBeUndefined();
    expect(typeof stop).toBe('function');
  });
});

describe('Lock events', () => {
  it('reports like a Semaphore of 1', async () => {
    const lock = new Lock({ maxWaiting: 1 });
    const { events, stop } = record(lock);
    const held = await lock.acquire();
    const waiter = lock.acquire();
    await expect(lock.acquire()).rejects.toBeInstanceOf(QueueFullError);
    vi.advanceTimersByTime(3);
    held.release();
    (await waiter).release();
    stop();
    (await lock.acquire()).release();
    expect(events).toStrictEqual([
      { type: 'acquired', weight: 1, waitedMs: 0 },
      { type: 'queued', weight: 1 },
      { type: 'rejected', reason: 'queue_full', weight: 1, waitedMs: 0 },
      { type: 'released', weight: 1, heldMs: 3 },
      { type: 'acquired', weight: 1, waitedMs: 3 },
      { type: 'released', weight: 1, heldMs: 0 },
    ]);
  });
});

describe('KeyedSemaphore events', () => {
  it('every event carries its key, for keys alive before and after subscribing', async () => {
    const keyed = new KeyedSemaphore<string>(1);
    const early = await keyed.acquire('a');
    const { events } = record(keyed);
    const waiter = keyed.acquire('a');
    const b = await keyed.acquire('b', { weight: 1 });
    vi.advanceTimersByTime(8);
    early.release();
    (await waiter).release();
    b.release();
    expect(events).toStrictEqual([
      { type: 'queued', weight: 1, key: 'a' },
      { type: 'acquired', weight: 1, waitedMs: 0, key: 'b' },
      { type: 'released', weight: 1, heldMs: 8, key: 'a' },
      { type: 'acquired', weight: 1, waitedMs: 8, key: 'a' },
      { type: 'released', weight: 1, heldMs: 0, key: 'a' },
      { type: 'released', weight: 1, heldMs: 8, key: 'b' },
    ]);
    expect(keyed.size).toBe(0);
  });

  it('rejections of each reason carry the key', async () => {
    const keyed = new KeyedSemaphore<string>(1, { maxWaiting: 1, maxKeys: 1 });
    const { events } = record(keyed);
    const held = await keyed.acquire('a');
    const timed = keyed.acquire('a', { timeout: 20 });
    timed.catch(() => {});
    await expect(keyed.acquire('a')).rejects.toBeInstanceOf(QueueFullError); // maxWaiting
    await expect(keyed.acquire('b', { weight: 1 })).rejects.toBeInstanceOf(QueueFullError); // maxKeys
    expect(keyed.tryAcquire('b')).toBeUndefined(); // a refused try: no event
    await vi.advanceTimersByTimeAsync(20);
    await expect(timed).rejects.toBeInstanceOf(TimeoutError);
    const controller = new AbortController();
    const aborted = keyed.acquire('a', { signal: controller.signal });
    controller.abort();
    await expect(aborted).rejects.toBeDefined();
    await expect(keyed.acquire('c', { signal: controller.signal })).rejects.toBeDefined();
    const closing = keyed.acquire('a');
    keyed.close();
    await expect(closing).rejects.toBeInstanceOf(ClosedError);
    await expect(keyed.acquire('a')).rejects.toBeInstanceOf(ClosedError); // live key, closed core
    held.release();
    await expect(keyed.acquire('d')).rejects.toBeInstanceOf(ClosedError); // new key after close
    const rejected = events.filter((e) => e.type === 'rejected');
    expect(rejected).toStrictEqual([
      { type: 'rejected', reason: 'queue_full', weight: 1, waitedMs: 0, key: 'a' },
      { type: 'rejected', reason: 'queue_full', weight: 1, waitedMs: 0, key: 'b' },
      { type: 'rejected', reason: 'queue_timeout', weight: 1, waitedMs: 20, key: 'a' },
      { type: 'rejected', reason: 'aborted', weight: 1, waitedMs: 0, key: 'a' },
      { type: 'rejected', reason: 'aborted', weight: 1, waitedMs: 0, key: 'c' },
      { type: 'rejected', reason: 'closed', weight: 1, waitedMs: 0, key: 'a' },
      { type: 'rejected', reason: 'closed', weight: 1, waitedMs: 0, key: 'a' },
      { type: 'rejected', reason: 'closed', weight: 1, waitedMs: 0, key: 'd' },
    ]);
  });

  it('after the last unsubscribe no key reports, old or new', async () => {
    const keyed = new KeyedSemaphore<string>(1);
    const { events, stop } = record(keyed);
    const a = await keyed.acquire('a');
    stop();
    a.release();
    (await keyed.acquire('a')).release();
    (await keyed.acquire('b')).release();
    expect(events).toHaveLength(1);
  });
});

describe('races', () => {
  it('an abort in the same tick as the grant changes nothing: acquired, no rejected', async () => {
    const sem = new Semaphore(1);
    const { events } = record(sem);
    const held = await sem.acquire();
    const controller = new AbortController();
    const waiter = sem.acquire({ signal: controller.signal, timeout: 100 });
    held.release(); // granted now, synchronously
    controller.abort();
    await vi.advanceTimersByTimeAsync(200);
    const permit = await waiter;
    permit.release();
    expect(events.map((e) => e.type)).toEqual([
      'acquired',
      'queued',
      'released',
      'acquired',
      'released',
    ]);
  });
});
