import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ClosedError, SluiceError, TimeoutError } from './errors.js';
import { TokenBucket } from './token-bucket.js';

// The bucket reads Date.now() here, which vi.useFakeTimers moves together with the timers:
// time is exact, and nothing depends on the machine's speed.
const now = () => Date.now();

function track<T>(promise: Promise<T>) {
  const state = { settled: false, value: undefined as T | undefined, error: undefined as unknown };
  promise.then(
    (value) => {
      state.settled = true;
      state.value = value;
    },
    (error) => {
      state.settled = true;
      state.error = error;
    },
  );
  return state;
}

async function flushMicrotasks(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

/** An AbortSignal that counts its live 'abort' listeners. */
function countingSignal() {
  const controller = new AbortController();
  const signal = controller.signal;
  const live = new Set<unknown>();
  const add = signal.addEventListener.bind(signal);
  const remove = signal.removeEventListener.bind(signal);
  signal.addEventListener = ((type: string, fn: EventListener, opts?: AddEventListenerOptions) => {
    live.add(fn);
    add(type, fn, opts);
  }) as typeof signal.addEventListener;
  signal.removeEventListener = ((type: string, fn: EventListener) => {
    live.delete(fn);
    remove(type, fn);
  }) as typeof signal.removeEventListener;
  return { controller, signal, live };
}

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(1_000_000);
});

afterEach(() => {
  vi.useRealTimers();
});

describe('TokenBucket: options', () => {
  it.each([
    [{ capacity: 0, refillPerSecond: 1 }, RangeError, /`capacity`.*got 0/],
    [{ capacity: 1.5, refillPerSecond: 1 }, RangeError, /`capacity`.*got 1.5/],
    [{ capacity: -1, refillPerSecond: 1 }, RangeError, /`capacity`.*got -1/],
    [{ capacity: Number.NaN, refillPerSecond: 1 }, RangeError, /`capacity`.*got NaN/],
    [{ capacity: '5', refillPerSecond: 1 }, TypeError, /`capacity`.*got "5"/],
    [{ capacity: 5, refillPerSecond: 0 }, RangeError, /`refillPerSecond`.*got 0/],
    [{ capacity: 5, refillPerSecond: -2 }, RangeError, /`refillPerSecond`.*got -2/],
    [
      { capacity: 5, refillPerSecond: Number.POSITIVE_INFINITY },
      RangeError,
      /`refillPerSecond`.*got Infinity/,
    ],
    [{ capacity: 5 }, TypeError, /`refillPerSecond`.*got undefined/],
    [{ capacity: 5, refillPerSecond: 1, now: 12 }, TypeError, /`now`.*got 12/],
  ])('rejects %o', (options, type, message) => {
    expect(() => new TokenBucket(options as never)).toThrow(type);
    expect(() => new TokenBucket(options as never)).toThrow(message);
  });

  it('requires an options object', () => {
    expect(() => new (TokenBucket as any)()).toThrow(TypeError);
    expect(() => new TokenBucket(null as never)).toThrow(/`options`.*null/);
  });

  it('exposes its settings and starts full', () => {
    const bucket = new TokenBucket({ capacity: 5, refillPerSecond: 2, now });
    expect(bucket.capacity).toBe(5);
    expect(bucket.refillPerSecond).toBe(2);
    expect(bucket.tokens).toBe(5);
    expect(bucket.waiting).toBe(0);
    expect(bucket.closed).toBe(false);
  });
});

describe('TokenBucket: tryTake', () => {
  it('takes until empty, reporting whole tokens left', () => {
    const bucket = new TokenBucket({ capacity: 3, refillPerSecond: 1, now });
    expect(bucket.tryTake()).toEqual({ ok: true, remaining: 2 });
    expect(bucket.tryTake(2)).toEqual({ ok: true, remaining: 0 });
    expect(bucket.tryTake()).toEqual({ ok: false, retryAfterMs: 1000 });
    expect(bucket.tokens).toBe(0);
  });

  it('refills lazily from the clock, no faster, and never beyond capacity', () => {
    const bucket = new TokenBucket({ capacity: 5, refillPerSecond: 2, now });
    bucket.tryTake(5);
    expect(vi.getTimerCount()).toBe(0);
    vi.setSystemTime(Date.now() + 499);
    expect(bucket.tokens).toBe(0);
    expect(bucket.tryTake()).toEqual({ ok: false, retryAfterMs: 1 });
    vi.setSystemTime(Date.now() + 1);
    expect(bucket.tryTake()).toEqual({ ok: true, remaining: 0 });
    vi.setSystemTime(Date.now() + 60_000);
    expect(bucket.tokens).toBe(5);
    expect(bucket.tryTake(5)).toEqual({ ok: true, remaining: 0 });
    expect(vi.getTimerCount()).toBe(0);
  });

  it('retryAfterMs is the wait for the missing tokens, rounded up', () => {
    const bucket = new TokenBucket({ capacity: 5, refillPerSecond: 3, now });
    bucket.tryTake(5);
    expect(bucket.tryTake()).toEqual({ ok: false, retryAfterMs: 334 });
    expect(bucket.tryTake(3)).toEqual({ ok: false, retryAfterMs: 1000 });
    vi.setSystemTime(Date.now() + 200);
    expect(bucket.tryTake(3)).toEqual({ ok: false, retryAfterMs: 800 });
  });

  it('throws for a bad count, and RangeError above capacity', () => {
    const bucket = new TokenBucket({ capacity: 5, refillPerSecond: 1, now });
    expect(() => bucket.tryTake(6)).toThrow(RangeError);
    expect(() => bucket.tryTake(6)).toThrow(/`tokens`.*capacity \(5\).*got 6/);
    expect(() => bucket.tryTake(0)).toThrow(/`tokens`.*got 0/);
    expect(() => bucket.tryTake(1.5)).toThrow(RangeError);
    expect(() => bucket.tryTake('1' as never)).toThrow(TypeError);
    expect(bucket.tokens).toBe(5);
  });

  it('fails while anyone waits, and its retryAfterMs counts the waiters ahead', async () => {
    const bucket = new TokenBucket({ capacity: 5, refillPerSecond: 1, now });
    bucket.tryTake(5);
    void bucket.take(3);
    vi.setSystemTime(Date.now() + 1000); // one token is there, but it is the head's
    expect(bucket.tryTake()).toEqual({ ok: false, retryAfterMs: 3000 });
    expect(bucket.waiting).toBe(1);
  });
});

describe('TokenBucket: take', () => {
  it('resolves at once when the tokens are there', async () => {
    const bucket = new TokenBucket({ capacity: 2, refillPerSecond: 1, now });
    await expect(bucket.take(2)).resolves.toBeUndefined();
    expect(bucket.tokens).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('waits exactly as long as the refill needs, on one timer, never polling', async () => {
    const bucket = new TokenBucket({ capacity: 5, refillPerSecond: 3, now });
    bucket.tryTake(5);
    const one = track(bucket.take());
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(333);
    expect(one.settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(one.settled).toBe(true);
    expect(one.error).toBeUndefined();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('keeps at most one timer however many wait', async () => {
    const bucket = new TokenBucket({ capacity: 4, refillPerSecond: 10, now });
    bucket.tryTake(4);
    const waits = Array.from({ length: 100 }, (_, i) => track(bucket.take((i % 4) + 1)));
    expect(vi.getTimerCount()).toBe(1);
    const total = waits.reduce((sum, _, i) => sum + (i % 4) + 1, 0);
    for (let t = 0; t < (total / 10) * 1000; t += 250) {
      await vi.advanceTimersByTimeAsync(250);
      expect(vi.getTimerCount()).toBeLessThanOrEqual(1);
    }
    await vi.advanceTimersByTimeAsync(100);
    expect(waits.every((w) => w.settled && w.error === undefined)).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
    expect(bucket.waiting).toBe(0);
  });

  it('serves FIFO: a small request never overtakes a queued large one', async () => {
    const bucket = new TokenBucket({ capacity: 5, refillPerSecond: 1, now });
    bucket.tryTake(5);
    const order: string[] = [];
    const big = bucket.take(5).then(() => order.push('big'));
    const small = bucket.take(1).then(() => order.push('small'));
    await vi.advanceTimersByTimeAsync(4999);
    expect(order).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    await big;
    expect(order).toEqual(['big']);
    await vi.advanceTimersByTimeAsync(999);
    expect(order).toEqual(['big']);
    await vi.advanceTimersByTimeAsync(1);
    await small;
    expect(order).toEqual(['big', 'small']);
  });

  it('serves several waiters from one refill in order', async () => {
    const bucket = new TokenBucket({ capacity: 3, refillPerSecond: 1, now });
    bucket.tryTake(3);
    const order: number[] = [];
    const all = [1, 2, 3].map((n) => bucket.take(1).then(() => order.push(n)));
    // Nothing moves the timers: the clock alone jumps, and the next operation sees it (reading
    // a gauge is not one: it serves nobody).
    vi.setSystemTime(Date.now() + 10_000);
    expect(bucket.waiting).toBe(3);
    expect(bucket.tryTake().ok).toBe(false);
    expect(bucket.waiting).toBe(0);
    await Promise.all(all);
    expect(order).toEqual([1, 2, 3]);
    expect(bucket.tokens).toBe(0);
  });

  it('rejects (does not throw) a request above capacity, at once', async () => {
    const bucket = new TokenBucket({ capacity: 5, refillPerSecond: 1, now });
    const promise = bucket.take(6);
    await expect(promise).rejects.toThrow(RangeError);
    await expect(bucket.take(0)).rejects.toThrow(/`tokens`.*got 0/);
    await expect(bucket.take(1, { timeout: -1 })).rejects.toThrow(/`timeout`.*got -1/);
    await expect(bucket.take(1, { signal: {} as never })).rejects.toThrow(/`signal`/);
    await expect(bucket.take(1, 5 as never)).rejects.toThrow(/`options`.*got 5/);
    expect(bucket.waiting).toBe(0);
    expect(bucket.tokens).toBe(5);
  });

  it('an already-aborted signal rejects with its reason and touches nothing, even with tokens free', async () => {
    const bucket = new TokenBucket({ capacity: 5, refillPerSecond: 1, now });
    const reason = new Error('gone');
    await expect(bucket.take(1, { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    expect(bucket.tokens).toBe(5);
    expect(bucket.waiting).toBe(0);
  });

  it('an abort unlinks the waiter, rejects with the reason, removes its listener, leaves counts as before', async () => {
    const bucket = new TokenBucket({ capacity: 5, refillPerSecond: 1, now });
    bucket.tryTake(5);
    const { controller, signal, live } = countingSignal();
    const first = track(bucket.take(1));
    const middle = track(bucket.take(2, { signal }));
    const last = track(bucket.take(1));
    expect(live.size).toBe(1);
    expect(bucket.tryTake()).toEqual({ ok: false, retryAfterMs: 5000 });
    controller.abort(new Error('client left'));
    await Promise.resolve();
    expect((middle.error as Error).message).toBe('client left');
    expect(live.size).toBe(0);
    expect(bucket.waiting).toBe(2);
    expect(bucket.tryTake()).toEqual({ ok: false, retryAfterMs: 3000 });
    await vi.advanceTimersByTimeAsync(2000);
    expect(first.settled && last.settled).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('an aborted head lets the waiters behind it take what is free at once, and re-arms for them', async () => {
    const bucket = new TokenBucket({ capacity: 5, refillPerSecond: 1, now });
    bucket.tryTake(3); // 2 left
    const controller = new AbortController();
    const head = track(bucket.take(5, { signal: controller.signal }));
    const a = track(bucket.take(1));
    const b = track(bucket.take(2));
    controller.abort();
    await Promise.resolve();
    await Promise.resolve();
    expect(head.error).toBeInstanceOf(DOMException);
    expect(a.settled).toBe(true);
    expect(b.settled).toBe(false);
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(999);
    expect(b.settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(b.settled).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('an abort after the take resolved changes nothing', async () => {
    const bucket = new TokenBucket({ capacity: 2, refillPerSecond: 1, now });
    const controller = new AbortController();
    await bucket.take(2, { signal: controller.signal });
    controller.abort();
    expect(bucket.tokens).toBe(0);
  });

  it('a signal shared by many takes holds one listener, gone when they are', async () => {
    const bucket = new TokenBucket({ capacity: 1, refillPerSecond: 1000, now });
    const { signal, live } = countingSignal();
    const all = Array.from({ length: 200 }, () => bucket.take(1, { signal }));
    expect(live.size).toBe(1);
    await vi.advanceTimersByTimeAsync(200);
    await Promise.all(all);
    expect(live.size).toBe(0);
  });

  it('one abort of a shared signal cancels all its waiters before serving anyone behind them', async () => {
    const bucket = new TokenBucket({ capacity: 5, refillPerSecond: 1, now });
    bucket.tryTake(3); // 2 left
    const controller = new AbortController();
    const { signal } = controller;
    const head = track(bucket.take(5, { signal }));
    const second = track(bucket.take(1, { signal })); // would fit in the 2 left
    const other = track(bucket.take(2));
    controller.abort(new Error('all of them'));
    await Promise.resolve();
    await Promise.resolve();
    expect((head.error as Error).message).toBe('all of them');
    expect((second.error as Error).message).toBe('all of them');
    expect(other.settled).toBe(true);
    expect(other.error).toBeUndefined();
    expect(bucket.tokens).toBe(0);
    expect(bucket.waiting).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a shared signal stays cheap with many waiters', async () => {
    const bucket = new TokenBucket({ capacity: 1, refillPerSecond: 1, now });
    bucket.tryTake();
    const controller = new AbortController();
    const all = Array.from({ length: 50_000 }, () =>
      bucket.take(1, { signal: controller.signal }).catch(() => 'aborted'),
    );
    expect(bucket.waiting).toBe(50_000);
    controller.abort();
    expect(new Set(await Promise.all(all))).toEqual(new Set(['aborted']));
    expect(bucket.waiting).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a timeout shorter than the wait fails at once with TimeoutError; no waiter, no timer', async () => {
    const bucket = new TokenBucket({ capacity: 5, refillPerSecond: 1, now });
    bucket.tryTake(5);
    void bucket.take(2); // 2000 ms ahead
    const error = await bucket.take(1, { timeout: 2999 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error).toBeInstanceOf(SluiceError);
    expect((error as TimeoutError).code).toBe('TIMEOUT');
    expect((error as TimeoutError).timeoutMs).toBe(2999);
    expect(bucket.waiting).toBe(1);
    expect(vi.getTimerCount()).toBe(1);
  });

  it('a timeout the wait fits in is never cut short', async () => {
    const bucket = new TokenBucket({ capacity: 5, refillPerSecond: 1, now });
    bucket.tryTake(5);
    const ok = track(bucket.take(2, { timeout: 2000 }));
    await vi.advanceTimersByTimeAsync(2000);
    expect(ok.settled).toBe(true);
    expect(ok.error).toBeUndefined();
    await expect(bucket.take(1, { timeout: 0 })).rejects.toBeInstanceOf(TimeoutError);
    vi.setSystemTime(Date.now() + 1000);
    await expect(bucket.take(1, { timeout: 0 })).resolves.toBeUndefined();
  });

  it('close rejects the waiters in FIFO order with ClosedError carrying the reason, then refuses', async () => {
    const bucket = new TokenBucket({ capacity: 2, refillPerSecond: 1, now });
    bucket.tryTake(2);
    const { signal, live } = countingSignal();
    const order: number[] = [];
    const errors: unknown[] = [];
    const waits = [1, 2, 3].map((n) =>
      bucket.take(1, { signal }).catch((e: unknown) => {
        order.push(n);
        errors.push(e);
      }),
    );
    const reason = new Error('shutdown');
    bucket.close(reason);
    await Promise.all(waits);
    expect(order).toEqual([1, 2, 3]);
    for (const e of errors) {
      expect(e).toBeInstanceOf(ClosedError);
      expect((e as ClosedError).cause).toBe(reason);
    }
    expect(live.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
    expect(bucket.closed).toBe(true);
    expect(bucket.waiting).toBe(0);
    await expect(bucket.take()).rejects.toBeInstanceOf(ClosedError);
    expect(() => bucket.tryTake()).toThrow(ClosedError);
    bucket.close(); // idempotent
  });

  it('a clock stepping back refills nothing and is not counted twice', () => {
    let t = 10_000;
    const bucket = new TokenBucket({ capacity: 10, refillPerSecond: 1, now: () => t });
    bucket.tryTake(10);
    t = 5_000;
    expect(bucket.tokens).toBe(0);
    t = 10_000;
    expect(bucket.tokens).toBe(0);
    t = 12_000;
    expect(bucket.tokens).toBe(2);
  });

  it('an injected clock that has not moved when the timer fires re-arms instead of granting', async () => {
    let t = 0;
    const bucket = new TokenBucket({ capacity: 1, refillPerSecond: 1, now: () => t });
    bucket.tryTake();
    const wait = track(bucket.take());
    await vi.advanceTimersByTimeAsync(1000); // timer fired, clock still at 0
    expect(wait.settled).toBe(false);
    expect(vi.getTimerCount()).toBe(1);
    t = 1000;
    await vi.advanceTimersByTimeAsync(1000);
    expect(wait.settled).toBe(true);
  });

  it('uses performance.now by default, which fake timers control', async () => {
    const bucket = new TokenBucket({ capacity: 1, refillPerSecond: 2 });
    bucket.tryTake();
    const wait = track(bucket.take());
    await vi.advanceTimersByTimeAsync(499);
    expect(wait.settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(wait.settled).toBe(true);
  });

  it('splits a very long wait into timers setTimeout can hold', async () => {
    const bucket = new TokenBucket({ capacity: 1, refillPerSecond: 1e-7, now });
    bucket.tryTake();
    const wait = track(bucket.take());
    await vi.advanceTimersByTimeAsync(2 ** 31);
    expect(wait.settled).toBe(false);
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(1e10 - 2 ** 31 + 1);
    expect(wait.settled).toBe(true);
  });
});

describe('TokenBucket: tokens and waiting are pure (issue 18)', () => {
  // A clock of our own: it jumps without any timer firing, as after a stalled event loop.
  function manualClock() {
    const clock = { ms: 0, now: () => clock.ms };
    return clock;
  }

  it('after a clock jump, reading the gauges serves no waiter; the timer does', async () => {
    const clock = manualClock();
    const bucket = new TokenBucket({ capacity: 4, refillPerSecond: 1, now: clock.now });
    bucket.tryTake(4);
    const head = track(bucket.take(3));
    const next = track(bucket.take(1));
    expect(vi.getTimerCount()).toBe(1);
    clock.ms += 10_000;
    for (let i = 0; i < 3; i++) {
      // The refill is computed from the clock (capped at capacity); both takes still wait.
      expect(bucket.tokens).toBe(4);
      expect(bucket.waiting).toBe(2);
    }
    await flushMicrotasks();
    expect(head.settled).toBe(false);
    expect(next.settled).toBe(false);
    // Still one timer, due when the head's refill was: it serves both, in order.
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(3000);
    expect(head).toMatchObject({ settled: true, error: undefined });
    expect(next).toMatchObject({ settled: true, error: undefined });
    expect(bucket.waiting).toBe(0);
    expect(bucket.tokens).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a waiter the gauges saw as due can still be aborted: reading did not grant it', async () => {
    const clock = manualClock();
    const bucket = new TokenBucket({ capacity: 2, refillPerSecond: 1, now: clock.now });
    bucket.tryTake(2);
    const controller = new AbortController();
    const reason = new Error('client left');
    const waiter = track(bucket.take(2, { signal: controller.signal }));
    clock.ms += 5_000;
    expect(bucket.tokens).toBe(2);
    expect(bucket.waiting).toBe(1);
    controller.abort(reason);
    await flushMicrotasks();
    expect(waiter).toMatchObject({ settled: true, error: reason });
    // The tokens were never taken: they are there for the next caller, and no timer is left.
    expect(bucket.waiting).toBe(0);
    expect(bucket.tokens).toBe(2);
    expect(bucket.tryTake(2)).toEqual({ ok: true, remaining: 0 });
    expect(vi.getTimerCount()).toBe(0);
  });

  it('an operation after the jump serves the due waiters first, then answers in FIFO order', async () => {
    const clock = manualClock();
    const bucket = new TokenBucket({ capacity: 3, refillPerSecond: 1, now: clock.now });
    bucket.tryTake(3);
    const waiter = track(bucket.take(2));
    clock.ms += 60_000;
    expect(bucket.waiting).toBe(1);
    // tryTake is an operation: it brings the bucket up to the clock, serving the head first.
    expect(bucket.tryTake(1)).toEqual({ ok: true, remaining: 0 });
    await flushMicrotasks();
    expect(waiter).toMatchObject({ settled: true, error: undefined });
    expect(bucket.waiting).toBe(0);
  });
});

describe('TokenBucket: properties', () => {
  it('a single wait from empty ends at the first whole ms the refill covers', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 50 }),
        fc.double({ min: 0.05, max: 5000, noNaN: true }),
        fc.integer({ min: 1, max: 50 }),
        async (capacity, rate, want) => {
          const need = Math.min(want, capacity);
          vi.setSystemTime(0);
          const bucket = new TokenBucket({ capacity, refillPerSecond: rate, now });
          bucket.tryTake(capacity);
          const expected = Math.ceil((need * 1000) / rate - 1e-9);
          const wait = track(bucket.take(need));
          if (expected > 1) {
            await vi.advanceTimersByTimeAsync(expected - 1);
            expect(wait.settled).toBe(false);
          }
          await vi.advanceTimersByTimeAsync(Math.min(expected, 1));
          expect(wait.settled).toBe(true);
          expect(vi.getTimerCount()).toBe(0);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('grants in arrival order and never more than capacity plus the refill', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 10 }),
        fc.double({ min: 0.5, max: 200, noNaN: true }),
        fc.array(fc.tuple(fc.integer({ min: 1, max: 10 }), fc.integer({ min: 0, max: 300 })), {
          minLength: 1,
          maxLength: 30,
        }),
        async (capacity, rate, requests) => {
          vi.setSystemTime(0);
          const bucket = new TokenBucket({ capacity, refillPerSecond: rate, now });
          const granted: { index: number; at: number; tokens: number }[] = [];
          const waits: Promise<unknown>[] = [];
          for (const [index, [want, gap]] of requests.entries()) {
            await vi.advanceTimersByTimeAsync(gap);
            const tokens = Math.min(want, capacity);
            waits.push(
              bucket.take(tokens).then(() => granted.push({ index, at: Date.now(), tokens })),
            );
          }
          await vi.advanceTimersByTimeAsync((requests.length * 10 * 1000) / rate + 10);
          await Promise.all(waits);
          expect(granted.map((g) => g.index)).toEqual(requests.map((_, i) => i));
          let sum = 0;
          for (const g of granted) {
            sum += g.tokens;
            expect(sum).toBeLessThanOrEqual(capacity + (g.at * rate) / 1000 + 1e-6);
          }
          expect(vi.getTimerCount()).toBe(0);
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('TokenBucket: random schedules', () => {
  // SLUICE_SOAK=1 runs many more schedules.
  const runs = process.env.SLUICE_SOAK ? 5000 : 300;

  it('keeps FIFO, the refill bound, one timer and exact counts under takes, aborts and timeouts', async () => {
    const op = fc.oneof(
      fc.record({
        kind: fc.constant('take' as const),
        tokens: fc.integer({ min: 1, max: 6 }),
        timeout: fc.option(fc.integer({ min: 0, max: 3000 }), { nil: undefined }),
        abortable: fc.boolean(),
      }),
      fc.record({ kind: fc.constant('tryTake' as const), tokens: fc.integer({ min: 1, max: 6 }) }),
      fc.record({ kind: fc.constant('abort' as const), pick: fc.nat() }),
      fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 1500 }) }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 6 }),
        fc.double({ min: 0.5, max: 20, noNaN: true }),
        fc.array(op, { minLength: 10, maxLength: 80 }),
        fc.boolean(),
        async (capacity, rate, ops, closeAtEnd) => {
          vi.setSystemTime(0);
          const bucket = new TokenBucket({ capacity, refillPerSecond: rate, now });
          let granted = 0;
          let nextId = 0;
          const served: number[] = [];
          const pending = new Map<number, AbortController | undefined>();
          const aborted = new Set<number>();
          const check = () => {
            expect(granted).toBeLessThanOrEqual(capacity + (Date.now() * rate) / 1000 + 1e-6);
            expect(bucket.waiting).toBe(pending.size);
            expect(vi.getTimerCount()).toBe(pending.size > 0 ? 1 : 0);
            expect(bucket.tokens).toBeGreaterThanOrEqual(0);
          };
          for (const o of ops) {
            if (o.kind === 'take') {
              const tokens = Math.min(o.tokens, capacity);
              const id = nextId++;
              const controller = o.abortable ? new AbortController() : undefined;
              let settledNow = false;
              const promise = bucket.take(tokens, {
                signal: controller?.signal,
                timeout: o.timeout,
              });
              pending.set(id, controller);
              promise.then(
                () => {
                  settledNow = true;
                  granted += tokens;
                  served.push(id);
                  pending.delete(id);
                },
                (error: unknown) => {
                  settledNow = true;
                  if (!(error instanceof TimeoutError)) aborted.add(id);
                  pending.delete(id);
                },
              );
              await Promise.resolve();
              // Timeouts fail fast: either queued, or settled at once.
              if (o.timeout !== undefined && !settledNow && bucket.waiting === 0) {
                throw new Error('a take with a timeout neither queued nor settled');
              }
            } else if (o.kind === 'tryTake') {
              const tokens = Math.min(o.tokens, capacity);
              const r = bucket.tryTake(tokens);
              if (r.ok) {
                expect(pending.size).toBe(0);
                granted += tokens;
              } else {
                expect(r.retryAfterMs).toBeGreaterThanOrEqual(1);
              }
            } else if (o.kind === 'abort') {
              const abortable = [...pending].filter(([, c]) => c !== undefined);
              const picked = abortable[o.pick % Math.max(1, abortable.length)];
              picked?.[1]?.abort();
            } else {
              await vi.advanceTimersByTimeAsync(o.ms);
            }
            await Promise.resolve();
            await Promise.resolve();
            check();
          }
          // Served waiters were served in arrival order.
          expect(served).toEqual([...served].sort((a, b) => a - b));
          if (closeAtEnd) {
            bucket.close();
            await Promise.resolve();
            await Promise.resolve();
            expect(pending.size).toBe(0);
          } else {
            // Everyone still waiting is served within the time their tokens need.
            await vi.advanceTimersByTimeAsync(((6 * (pending.size + 1)) / rate) * 1000 + 10);
            expect(pending.size).toBe(0);
            expect(served).toEqual([...served].sort((a, b) => a - b));
          }
          expect(vi.getTimerCount()).toBe(0);
        },
      ),
      { numRuns: runs },
    );
  });
});
