import { getEventListeners } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { BoundedQueue } from './bounded-queue.js';
import { ClosedError, TimeoutError } from './errors.js';

/** Lets every settled promise run its callbacks. */
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Records how a promise settles, without awaiting it. */
function track<T>(promise: Promise<T>) {
  const state: { status: 'pending' | 'fulfilled' | 'rejected'; value?: T; reason?: unknown } = {
    status: 'pending',
  };
  promise.then(
    (value) => {
      state.status = 'fulfilled';
      state.value = value;
    },
    (reason: unknown) => {
      state.status = 'rejected';
      state.reason = reason;
    },
  );
  return state;
}

afterEach(() => {
  vi.useRealTimers();
});

describe('BoundedQueue: arguments', () => {
  it.each([
    [-1, RangeError, /`capacity`.*integer >= 0.*-1/],
    [1.5, RangeError, /`capacity`.*1\.5/],
    [Number.NaN, RangeError, /`capacity`.*NaN/],
    [Number.POSITIVE_INFINITY, RangeError, /`capacity`.*Infinity/],
    ['3', TypeError, /`capacity`.*"3"/],
    [undefined, TypeError, /`capacity`.*undefined/],
  ])('rejects capacity %s', (capacity, type, message) => {
    expect(() => new BoundedQueue(capacity as number)).toThrow(type);
    expect(() => new BoundedQueue(capacity as number)).toThrow(message);
  });

  it('reports bad put/take options by rejecting, and changes nothing', async () => {
    const q = new BoundedQueue<string>(2);
    await expect(q.put('a', { timeout: -1 })).rejects.toThrow(/`options.timeout`.*-1/);
    await expect(q.put('a', { timeout: Number.NaN })).rejects.toThrow(RangeError);
    await expect(q.put('a', { signal: {} as AbortSignal })).rejects.toThrow(/`options.signal`/);
    await expect(q.put('a', 'soon' as never)).rejects.toThrow(/`options`.*"soon"/);
    expect(q.size).toBe(0);
    q.tryPut('x');
    await expect(q.take({ timeout: '5' as never })).rejects.toThrow(TypeError);
    await expect(q.take(null as never)).rejects.toThrow(/`options`.*null/);
    expect(q.size).toBe(1);
    expect(() => q.close({ drain: 'no' as never })).toThrow(/`options.drain`.*"no"/);
    expect(q.closed).toBe(false);
    expect(q.tryTake()).toEqual({ ok: true, value: 'x' });
  });
});

describe('BoundedQueue: put and take', () => {
  it('is FIFO and bounded; tryPut fails when full, tryTake when empty', async () => {
    const q = new BoundedQueue<number>(3);
    expect(q.capacity).toBe(3);
    await q.put(1);
    expect(q.tryPut(2)).toBe(true);
    await q.put(3);
    expect(q.tryPut(4)).toBe(false);
    expect(q.size).toBe(3);
    expect(await q.take()).toBe(1);
    expect(q.tryTake()).toEqual({ ok: true, value: 2 });
    expect(await q.take()).toBe(3);
    expect(q.tryTake()).toEqual({ ok: false });
    expect(q.size).toBe(0);
  });

  it('keeps FIFO across ring wrap-around and growth', async () => {
    const q = new BoundedQueue<number>(100);
    const out: number[] = [];
    let next = 0;
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 37; i++) expect(q.tryPut(next++)).toBe(true);
      for (let i = 0; i < 35; i++) out.push(await q.take());
    }
    while (q.size > 0) out.push(await q.take());
    expect(out).toEqual(Array.from({ length: next }, (_, i) => i));
  });

  it('blocks a put while full and resumes putters in FIFO order', async () => {
    const q = new BoundedQueue<string>(1);
    await q.put('a');
    const b = track(q.put('b'));
    const c = track(q.put('c'));
    await flush();
    expect([b.status, c.status]).toEqual(['pending', 'pending']);
    expect(q.tryPut('late')).toBe(false); // no barging past waiting putters
    expect(await q.take()).toBe('a');
    await flush();
    expect([b.status, c.status]).toEqual(['fulfilled', 'pending']);
    expect(q.size).toBe(1);
    expect(q.tryTake()).toEqual({ ok: true, value: 'b' });
    await flush();
    expect(c.status).toBe('fulfilled');
    expect(await q.take()).toBe('c');
    expect(q.size).toBe(0);
  });

  it('hands a put straight to a waiting taker, in FIFO order of takers', async () => {
    const q = new BoundedQueue<string>(4);
    const t1 = q.take();
    const t2 = q.take();
    expect(q.tryPut('x')).toBe(true);
    await q.put('y');
    expect(await t1).toBe('x');
    expect(await t2).toBe('y');
    expect(q.size).toBe(0);
    expect(q.tryTake()).toEqual({ ok: false }); // handed over, not also buffered
  });

  it('an aborted take consumes no item, and the next taker gets it', async () => {
    const q = new BoundedQueue<string>(1);
    const ac = new AbortController();
    const aborted = track(q.take({ signal: ac.signal }));
    const other = q.take();
    ac.abort(new Error('gone'));
    await q.put('x');
    await flush();
    expect(aborted.status).toBe('rejected');
    expect((aborted.reason as Error).message).toBe('gone');
    expect(await other).toBe('x');
    expect(q.size).toBe(0);
  });

  it('an item handed to a taker stays handed even if its signal aborts in the same tick', async () => {
    const q = new BoundedQueue<string>(1);
    const ac = new AbortController();
    const taken = q.take({ signal: ac.signal });
    q.tryPut('x');
    ac.abort();
    expect(await taken).toBe('x');
    expect(q.size).toBe(0);
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);
  });

  // Issue 18, point 2: once served, a wait is the caller's, as a granted permit is. The abort
  // cannot reach it any more; the item is never given back (that would break capacity and
  // FIFO, and a settled promise cannot be taken back), so the caller checks the result.
  it('a served take resolves with its item despite an abort in the same tick: nothing lost or doubled', async () => {
    const q = new BoundedQueue<string>(2);
    const ac = new AbortController();
    const taken = track(q.take({ signal: ac.signal }));
    const next = track(q.take());
    await q.put('x');
    ac.abort(new Error('stopped reading'));
    await q.put('y');
    await flush();
    expect(taken).toEqual({ status: 'fulfilled', value: 'x' });
    expect(next).toEqual({ status: 'fulfilled', value: 'y' });
    expect(q.size).toBe(0);
    expect(q.tryTake()).toEqual({ ok: false });
  });

  it('a served put stays put despite an abort in the same tick: its item is in the queue once', async () => {
    const q = new BoundedQueue<string>(1);
    await q.put('a');
    const ac = new AbortController();
    const put = track(q.put('b', { signal: ac.signal }));
    // A take frees the slot: 'b' enters now, before the abort.
    expect(q.tryTake()).toEqual({ ok: true, value: 'a' });
    ac.abort();
    await flush();
    expect(put.status).toBe('fulfilled');
    expect(q.size).toBe(1);
    expect(q.tryTake()).toEqual({ ok: true, value: 'b' });
    expect(q.tryTake()).toEqual({ ok: false });
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);
  });

  it('capacity 0: a taker served in the same tick as its abort still gets the item', async () => {
    const q = new BoundedQueue<number>(0);
    const ac = new AbortController();
    const taken = track(q.take({ signal: ac.signal }));
    const put = track(q.put(1));
    ac.abort();
    await flush();
    expect(taken).toEqual({ status: 'fulfilled', value: 1 });
    expect(put.status).toBe('fulfilled');
    expect(q.size).toBe(0);
  });

  it('the documented recipe: check the result even after aborting, and no item is dropped', async () => {
    const q = new BoundedQueue<number>(4);
    const handled: number[] = [];
    const controller = new AbortController();
    // A consumer that stops on shutdown: it aborts its pending take, then still looks at it.
    const pending = q.take({ signal: controller.signal });
    q.tryPut(1); // served to the pending take...
    q.tryPut(2);
    controller.abort(new Error('shutdown')); // ...in the same tick as the abort
    const outcome = await pending.then(
      (item) => ({ item }),
      (error: unknown) => ({ error }),
    );
    if ('item' in outcome) handled.push(outcome.item);
    // Whatever the consumer did not take is still in the queue, for whoever drains it.
    handled.push(...q.close({ drain: false }));
    expect(handled).toEqual([1, 2]);
  });

  it('a take whose abort came first rejects and consumes nothing, even if an item arrives in the same tick', async () => {
    const q = new BoundedQueue<string>(1);
    const ac = new AbortController();
    const aborted = track(q.take({ signal: ac.signal }));
    ac.abort();
    q.tryPut('x');
    await flush();
    expect(aborted.status).toBe('rejected');
    expect(q.tryTake()).toEqual({ ok: true, value: 'x' });
  });

  it('an aborted put enqueues nothing and later putters move up', async () => {
    const q = new BoundedQueue<string>(1);
    await q.put('a');
    const ac = new AbortController();
    const b = track(q.put('b', { signal: ac.signal }));
    const c = track(q.put('c'));
    ac.abort();
    await flush();
    expect(b.status).toBe('rejected');
    expect(b.reason).toBe(ac.signal.reason);
    expect(await q.take()).toBe('a');
    expect(await q.take()).toBe('c');
    expect(q.tryTake()).toEqual({ ok: false });
    expect(c.status).toBe('fulfilled');
  });

  it('an already-aborted signal rejects with its reason and touches nothing', async () => {
    const q = new BoundedQueue<string>(2);
    const signal = AbortSignal.abort(new Error('before'));
    await expect(q.put('a', { signal })).rejects.toThrow('before');
    expect(q.size).toBe(0);
    q.tryPut('x');
    await expect(q.take({ signal })).rejects.toThrow('before');
    expect(q.size).toBe(1);
    expect(getEventListeners(signal, 'abort')).toHaveLength(0);
  });

  it('a signal shared by 10,000 takes and 10,000 puts ends with zero listeners', async () => {
    const q = new BoundedQueue<number>(1);
    const ac = new AbortController();
    const { signal } = ac;
    const takes = Array.from({ length: 10_000 }, () => q.take({ signal }));
    expect(getEventListeners(signal, 'abort')).toHaveLength(10_000);
    for (let i = 0; i < 10_000; i++) q.tryPut(i);
    expect(await Promise.all(takes)).toEqual(Array.from({ length: 10_000 }, (_, i) => i));
    expect(getEventListeners(signal, 'abort')).toHaveLength(0);

    q.tryPut(-1);
    const puts = Array.from({ length: 10_000 }, (_, i) => q.put(i, { signal }));
    expect(getEventListeners(signal, 'abort')).toHaveLength(10_000);
    // Half leave by taking, half by the abort.
    for (let i = 0; i < 5_000; i++) q.tryTake();
    ac.abort();
    const settled = await Promise.allSettled(puts);
    expect(settled.filter((s) => s.status === 'fulfilled')).toHaveLength(5_000);
    expect(getEventListeners(signal, 'abort')).toHaveLength(0);
    expect(q.size).toBe(1);
  });
});

describe('BoundedQueue: timeouts', () => {
  it('a take times out with TimeoutError, consumes nothing and leaves no timer', async () => {
    vi.useFakeTimers();
    const q = new BoundedQueue<string>(1);
    const t = track(q.take({ timeout: 100 }));
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(99);
    expect(t.status).toBe('pending');
    await vi.advanceTimersByTimeAsync(1);
    expect(t.status).toBe('rejected');
    expect(t.reason).toBeInstanceOf(TimeoutError);
    expect((t.reason as TimeoutError).code).toBe('TIMEOUT');
    expect((t.reason as TimeoutError).timeoutMs).toBe(100);
    expect(vi.getTimerCount()).toBe(0);
    q.tryPut('x');
    expect(await q.take()).toBe('x');
  });

  it('a put times out, enqueues nothing and leaves no timer', async () => {
    vi.useFakeTimers();
    const q = new BoundedQueue<string>(1);
    q.tryPut('a');
    const p = track(q.put('b', { timeout: 50 }));
    await vi.advanceTimersByTimeAsync(50);
    expect(p.reason).toBeInstanceOf(TimeoutError);
    expect(vi.getTimerCount()).toBe(0);
    expect(await q.take()).toBe('a');
    expect(q.tryTake()).toEqual({ ok: false });
  });

  it('clears the timer and the listener when the wait is served', async () => {
    vi.useFakeTimers();
    const q = new BoundedQueue<string>(1);
    const ac = new AbortController();
    const t = q.take({ timeout: 1000, signal: ac.signal });
    q.tryPut('x');
    expect(await t).toBe('x');
    expect(vi.getTimerCount()).toBe(0);
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);
    q.tryPut('y');
    const p = q.put('z', { timeout: 1000 });
    q.tryTake();
    await p;
    expect(vi.getTimerCount()).toBe(0);
  });

  it('clears the timer when the wait is aborted or closed', async () => {
    vi.useFakeTimers();
    const q = new BoundedQueue<string>(1);
    const ac = new AbortController();
    const a = q.take({ timeout: 1000, signal: ac.signal });
    const b = q.take({ timeout: 1000 });
    expect(vi.getTimerCount()).toBe(2);
    ac.abort();
    await expect(a).rejects.toBe(ac.signal.reason);
    expect(vi.getTimerCount()).toBe(1);
    q.close();
    await expect(b).rejects.toBeInstanceOf(ClosedError);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('timeout 0 fails at once when it would wait, and succeeds when it need not', async () => {
    vi.useFakeTimers();
    const q = new BoundedQueue<string>(1);
    await expect(q.take({ timeout: 0 })).rejects.toBeInstanceOf(TimeoutError);
    await q.put('a', { timeout: 0 });
    await expect(q.put('b', { timeout: 0 })).rejects.toBeInstanceOf(TimeoutError);
    expect(await q.take({ timeout: 0 })).toBe('a');
    expect(q.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a timeout longer than setTimeout allows still waits the whole time', async () => {
    vi.useFakeTimers();
    const q = new BoundedQueue<string>(1);
    const long = 2_147_483_647 + 1000;
    const t = track(q.take({ timeout: long }));
    await vi.advanceTimersByTimeAsync(2_147_483_647);
    expect(t.status).toBe('pending');
    await vi.advanceTimersByTimeAsync(1000);
    expect(t.reason).toBeInstanceOf(TimeoutError);
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('BoundedQueue: close', () => {
  it('rejects pending puts (their items never enter) and drains the rest', async () => {
    const q = new BoundedQueue<string>(2);
    await q.put('a');
    await q.put('b');
    const c = track(q.put('c'));
    const d = track(q.put('d'));
    expect(q.close()).toEqual([]);
    expect(q.closed).toBe(true);
    await flush();
    expect(c.status).toBe('rejected');
    expect(c.reason).toBeInstanceOf(ClosedError);
    expect((c.reason as ClosedError).code).toBe('CLOSED');
    expect(d.reason).toBeInstanceOf(ClosedError);
    await expect(q.put('e')).rejects.toBeInstanceOf(ClosedError);
    expect(q.tryPut('e')).toBe(false);
    expect(await q.take()).toBe('a');
    expect(q.tryTake()).toEqual({ ok: true, value: 'b' });
    await expect(q.take()).rejects.toBeInstanceOf(ClosedError);
    expect(q.tryTake()).toEqual({ ok: false });
  });

  it('rejects waiting takers when closed empty', async () => {
    const q = new BoundedQueue<string>(2);
    const t1 = q.take();
    const t2 = q.take();
    q.close();
    await expect(t1).rejects.toBeInstanceOf(ClosedError);
    await expect(t2).rejects.toBeInstanceOf(ClosedError);
  });

  it('close({ drain: false }) returns the discarded items and rejects takers', async () => {
    const q = new BoundedQueue<number>(3);
    await q.put(1);
    await q.put(2);
    expect(q.close({ drain: false })).toEqual([1, 2]);
    expect(q.size).toBe(0);
    await expect(q.take()).rejects.toBeInstanceOf(ClosedError);

    const empty = new BoundedQueue<number>(3);
    const waiting = empty.take();
    expect(empty.close({ drain: false })).toEqual([]);
    await expect(waiting).rejects.toBeInstanceOf(ClosedError);
  });

  it('close({ drain: false }) after close() discards what is left; closing twice is harmless', async () => {
    const q = new BoundedQueue<number>(3);
    q.tryPut(1);
    q.tryPut(2);
    q.tryPut(3);
    expect(q.close()).toEqual([]);
    expect(await q.take()).toBe(1);
    expect(q.close()).toEqual([]);
    expect(q.close({ drain: false })).toEqual([2, 3]);
    expect(q.close({ drain: false })).toEqual([]);
    await expect(q.take()).rejects.toBeInstanceOf(ClosedError);
  });
});

describe('BoundedQueue: capacity 0 is a rendezvous channel', () => {
  it('a put waits until a taker takes its item', async () => {
    const q = new BoundedQueue<string>(0);
    expect(q.tryPut('x')).toBe(false);
    const p = track(q.put('a'));
    await flush();
    expect(p.status).toBe('pending');
    expect(q.size).toBe(0);
    expect(await q.take()).toBe('a');
    await flush();
    expect(p.status).toBe('fulfilled');
  });

  it('a take waits until a putter comes; tryPut and tryTake pair with waiters', async () => {
    const q = new BoundedQueue<string>(0);
    const t = q.take();
    expect(q.tryPut('x')).toBe(true);
    expect(await t).toBe('x');
    expect(q.tryTake()).toEqual({ ok: false });
    const p = q.put('y');
    expect(q.tryTake()).toEqual({ ok: true, value: 'y' });
    await p;
  });

  it('close rejects a waiting put', async () => {
    const q = new BoundedQueue<string>(0);
    const p = q.put('a');
    expect(q.close({ drain: false })).toEqual([]);
    await expect(p).rejects.toBeInstanceOf(ClosedError);
  });
});

describe('BoundedQueue: async iteration', () => {
  it('for await yields in order and ends cleanly on close after draining', async () => {
    const q = new BoundedQueue<number>(2);
    const seen: number[] = [];
    const consumer = (async () => {
      for await (const item of q) seen.push(item);
    })();
    for (let i = 0; i < 5; i++) await q.put(i);
    q.close();
    await consumer;
    expect(seen).toEqual([0, 1, 2, 3, 4]);
  });

  it('for await drains items left at close before it ends', async () => {
    const q = new BoundedQueue<number>(3);
    q.tryPut(1);
    q.tryPut(2);
    q.close();
    const seen: number[] = [];
    for await (const item of q) seen.push(item);
    expect(seen).toEqual([1, 2]);
  });

  it('break consumes no extra item', async () => {
    const q = new BoundedQueue<number>(4);
    for (let i = 0; i < 4; i++) q.tryPut(i);
    for await (const item of q) {
      if (item === 1) break;
    }
    expect(q.size).toBe(2);
    expect(await q.take()).toBe(2);
  });

  it('return() while next() waits settles it done and takes nothing', async () => {
    const q = new BoundedQueue<string>(1);
    const it = q[Symbol.asyncIterator]();
    const pending = it.next();
    const pending2 = it.next();
    expect(await it.return?.()).toEqual({ done: true, value: undefined });
    expect(await pending).toEqual({ done: true, value: undefined });
    expect(await pending2).toEqual({ done: true, value: undefined });
    q.tryPut('x');
    expect(q.size).toBe(1); // not handed to the finished iterator
    expect(await it.next()).toEqual({ done: true, value: undefined });
    expect(await q.take()).toBe('x');
  });

  it('a pending next() settles done on close', async () => {
    const q = new BoundedQueue<string>(1);
    const it = q[Symbol.asyncIterator]();
    const pending = it.next();
    q.close();
    expect(await pending).toEqual({ done: true, value: undefined });
    expect(await it.next()).toEqual({ done: true, value: undefined });
  });

  it('a pending next() receives a put, and admits waiting putters as it drains', async () => {
    const q = new BoundedQueue<string>(1);
    const it = q[Symbol.asyncIterator]();
    const pending = it.next();
    q.tryPut('a');
    expect(await pending).toEqual({ value: 'a', done: false });
    q.tryPut('b');
    const c = q.put('c');
    expect(await it.next()).toEqual({ value: 'b', done: false });
    await c;
    expect(q.size).toBe(1);
  });
});
