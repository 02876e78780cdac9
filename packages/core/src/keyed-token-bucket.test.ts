import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ClosedError, QueueFullError, TimeoutError } from './errors.js';
import { KeyedTokenBucket } from './keyed-token-bucket.js';
import { TokenBucket } from './token-bucket.js';

const now = () => Date.now();

function track<T>(promise: Promise<T>) {
  const state = { settled: false, error: undefined as unknown };
  promise.then(
    () => {
      state.settled = true;
    },
    (error) => {
      state.settled = true;
      state.error = error;
    },
  );
  return state;
}

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(1_000_000);
});

afterEach(() => {
  vi.useRealTimers();
});

describe('KeyedTokenBucket: options', () => {
  it('validates the bucket options and maxKeys, naming them', () => {
    expect(() => new KeyedTokenBucket({ capacity: 0, refillPerSecond: 1 })).toThrow(
      /`capacity`.*got 0/,
    );
    expect(() => new KeyedTokenBucket({ capacity: 1, refillPerSecond: Number.NaN })).toThrow(
      /`refillPerSecond`.*got NaN/,
    );
    expect(() => new KeyedTokenBucket({ capacity: 1, refillPerSecond: 1, maxKeys: -1 })).toThrow(
      /`maxKeys`.*got -1/,
    );
    expect(() => new KeyedTokenBucket({ capacity: 1, refillPerSecond: 1, maxKeys: 1.5 })).toThrow(
      RangeError,
    );
    const bucket = new KeyedTokenBucket({ capacity: 3, refillPerSecond: 2 });
    expect(bucket.capacity).toBe(3);
    expect(bucket.refillPerSecond).toBe(2);
    expect(bucket.maxKeys).toBe(Number.POSITIVE_INFINITY);
    expect(bucket.size).toBe(0);
  });

  it('throws (tryTake) and rejects (take) bad counts', async () => {
    const bucket = new KeyedTokenBucket({ capacity: 3, refillPerSecond: 1, now });
    expect(() => bucket.tryTake('a', 4)).toThrow(RangeError);
    expect(() => bucket.tryTake('a', 0)).toThrow(/`tokens`.*got 0/);
    await expect(bucket.take('a', 4)).rejects.toThrow(RangeError);
    await expect(bucket.take('a', 1, { timeout: Number.NaN })).rejects.toThrow(/`timeout`/);
    expect(bucket.size).toBe(0);
  });
});

describe('KeyedTokenBucket: one bucket per key', () => {
  it('limits each key on its own', () => {
    const bucket = new KeyedTokenBucket({ capacity: 2, refillPerSecond: 1, now });
    expect(bucket.tryTake('alice')).toEqual({ ok: true, remaining: 1 });
    expect(bucket.tryTake('alice')).toEqual({ ok: true, remaining: 0 });
    expect(bucket.tryTake('alice')).toEqual({ ok: false, retryAfterMs: 1000 });
    expect(bucket.tryTake('bob', 2)).toEqual({ ok: true, remaining: 0 });
    expect(bucket.tokens('alice')).toBe(0);
    expect(bucket.tokens('carol')).toBe(2);
    expect(bucket.size).toBe(2);
    vi.setSystemTime(Date.now() + 500);
    expect(bucket.tryTake('alice')).toEqual({ ok: false, retryAfterMs: 500 });
    vi.setSystemTime(Date.now() + 500);
    expect(bucket.tryTake('alice')).toEqual({ ok: true, remaining: 0 });
  });

  it('accepts any key type', () => {
    const bucket = new KeyedTokenBucket<object>({ capacity: 1, refillPerSecond: 1, now });
    const a = {};
    const b = {};
    expect(bucket.tryTake(a).ok).toBe(true);
    expect(bucket.tryTake(a).ok).toBe(false);
    expect(bucket.tryTake(b).ok).toBe(true);
  });

  it('take waits FIFO per key, on a timer only while someone waits', async () => {
    const bucket = new KeyedTokenBucket({ capacity: 2, refillPerSecond: 1, now });
    bucket.tryTake('a', 2);
    const order: string[] = [];
    const big = bucket.take('a', 2).then(() => order.push('big'));
    const small = bucket.take('a', 1).then(() => order.push('small'));
    const other = bucket.take('b', 2).then(() => order.push('other'));
    await other;
    expect(order).toEqual(['other']);
    // 'a' owes 2 + 1 tokens to its waiters, then 1 for this one.
    expect(bucket.tryTake('a')).toEqual({ ok: false, retryAfterMs: 4000 });
    await vi.advanceTimersByTimeAsync(2000);
    await big;
    expect(order).toEqual(['other', 'big']);
    await vi.advanceTimersByTimeAsync(1000);
    await small;
    expect(order).toEqual(['other', 'big', 'small']);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('take honours signal and timeout like TokenBucket', async () => {
    const bucket = new KeyedTokenBucket({ capacity: 1, refillPerSecond: 1, now });
    bucket.tryTake('a');
    await expect(bucket.take('a', 1, { timeout: 500 })).rejects.toBeInstanceOf(TimeoutError);
    const reason = new Error('left');
    await expect(bucket.take('new', 1, { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    const controller = new AbortController();
    const wait = bucket.take('a', 1, { signal: controller.signal });
    controller.abort(reason);
    await expect(wait).rejects.toBe(reason);
    expect(vi.getTimerCount()).toBe(0);
    expect(bucket.size).toBe(1); // only 'a', still refilling; 'new' never entered
  });
});

describe('KeyedTokenBucket: signals', () => {
  it('one listener per signal across keys; an abort cancels them all, then serves the rest', async () => {
    const bucket = new KeyedTokenBucket({ capacity: 2, refillPerSecond: 1, now });
    const controller = new AbortController();
    let listeners = 0;
    const add = controller.signal.addEventListener.bind(controller.signal);
    controller.signal.addEventListener = ((...args: Parameters<typeof add>) => {
      listeners++;
      add(...args);
    }) as typeof add;
    bucket.tryTake('a', 1);
    bucket.tryTake('b', 2);
    const a = track(bucket.take('a', 2, { signal: controller.signal }));
    const a2 = track(bucket.take('a', 1));
    const b = track(bucket.take('b', 1, { signal: controller.signal }));
    expect(listeners).toBe(1);
    controller.abort();
    await Promise.resolve();
    await Promise.resolve();
    expect(a.error).toBeInstanceOf(DOMException);
    expect(b.error).toBeInstanceOf(DOMException);
    expect(a2.settled && a2.error === undefined).toBe(true); // 'a' had 1 token: served at once
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('KeyedTokenBucket: one timer', () => {
  it('keeps one timer for waiters on any number of keys, waking each at its own time', async () => {
    const bucket = new KeyedTokenBucket<number>({ capacity: 10, refillPerSecond: 1, now });
    for (let key = 0; key < 100; key++) bucket.tryTake(key, 10);
    // Key k needs (k % 10) + 1 tokens, so it is served after that many seconds.
    const waits = Array.from({ length: 100 }, (_, key) => track(bucket.take(key, (key % 10) + 1)));
    const served = () => waits.filter((w) => w.settled && w.error === undefined).length;
    expect(vi.getTimerCount()).toBe(1);
    for (let second = 1; second <= 10; second++) {
      await vi.advanceTimersByTimeAsync(999);
      expect(served()).toBe((second - 1) * 10);
      await vi.advanceTimersByTimeAsync(1);
      expect(served()).toBe(second * 10);
      expect(vi.getTimerCount()).toBeLessThanOrEqual(1);
    }
    expect(vi.getTimerCount()).toBe(0);
  });

  it('re-points the timer when the earliest waiter leaves', async () => {
    const bucket = new KeyedTokenBucket({ capacity: 5, refillPerSecond: 1, now });
    bucket.tryTake('soon', 5);
    bucket.tryTake('later', 5);
    const controller = new AbortController();
    const soon = track(bucket.take('soon', 1, { signal: controller.signal }));
    const later = track(bucket.take('later', 3));
    controller.abort();
    await vi.advanceTimersByTimeAsync(2999);
    expect(soon.error).toBeInstanceOf(DOMException);
    expect(later.settled).toBe(false);
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(later.settled).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('KeyedTokenBucket: memory', () => {
  it('10,000 keys that each take once are all gone once they refill', () => {
    const bucket = new KeyedTokenBucket({ capacity: 5, refillPerSecond: 1, now });
    for (let i = 0; i < 10_000; i++) expect(bucket.tryTake(`client-${i}`).ok).toBe(true);
    expect(bucket.size).toBe(10_000);
    vi.setSystemTime(Date.now() + 999);
    expect(bucket.size).toBe(10_000);
    vi.setSystemTime(Date.now() + 1);
    expect(bucket.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('prunes refilled keys as it goes, without anyone reading size', () => {
    let t = 0;
    const bucket = new KeyedTokenBucket<number>({ capacity: 1, refillPerSecond: 10, now: () => t });
    // Deletions from the key table happen only when it prunes; count them.
    const deletes = vi.spyOn(Map.prototype, 'delete');
    // A new key every 10 ms; each refills in 100 ms: about ten are alive at any time.
    for (let i = 0; i < 20_000; i++) {
      t += 10;
      expect(bucket.tryTake(i).ok).toBe(true);
    }
    const pruned = deletes.mock.calls.length;
    deletes.mockRestore();
    // All but the last sweep interval (at most 1024 operations) were pruned along the way.
    expect(pruned).toBeGreaterThanOrEqual(20_000 - 1024 - 10);
    expect(bucket.size).toBeLessThanOrEqual(10);
  });

  it('a key that is waiting is never dropped, even when its bucket looks full', async () => {
    const bucket = new KeyedTokenBucket({ capacity: 2, refillPerSecond: 1, now });
    bucket.tryTake('a', 2);
    const wait = track(bucket.take('a', 2));
    await vi.advanceTimersByTimeAsync(1999);
    expect(bucket.size).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(wait.settled).toBe(true);
    expect(bucket.size).toBe(1); // empty again after the take
  });
});

describe('KeyedTokenBucket: tokens(key) and size are pure (issue 18)', () => {
  it('after a clock jump, reading them serves no waiter and creates no key; the timer serves', async () => {
    let t = 0;
    const bucket = new KeyedTokenBucket({ capacity: 3, refillPerSecond: 1, now: () => t });
    bucket.tryTake('a', 3);
    bucket.tryTake('b', 3);
    const a = track(bucket.take('a', 2));
    expect(vi.getTimerCount()).toBe(1);
    t += 10_000;
    for (let i = 0; i < 3; i++) {
      expect(bucket.tokens('a')).toBe(3); // refilled by the clock, still promised to the waiter
      expect(bucket.tokens('b')).toBe(3);
      expect(bucket.tokens('never-seen')).toBe(3);
      expect(bucket.size).toBe(1); // 'b' is full and idle: not counted; 'a' has a waiter
    }
    await Promise.resolve();
    await Promise.resolve();
    expect(a.settled).toBe(false);
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(2000);
    expect(a).toEqual({ settled: true, error: undefined });
    expect(bucket.tokens('a')).toBe(1);
    expect(bucket.size).toBe(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a waiter the gauges saw as due can still be aborted, its tokens untouched', async () => {
    let t = 0;
    const bucket = new KeyedTokenBucket({ capacity: 2, refillPerSecond: 1, now: () => t });
    bucket.tryTake('a', 2);
    const controller = new AbortController();
    const a = track(bucket.take('a', 2, { signal: controller.signal }));
    t += 5_000;
    expect(bucket.tokens('a')).toBe(2);
    expect(bucket.size).toBe(1);
    controller.abort();
    await Promise.resolve();
    expect(a.error).toBeInstanceOf(DOMException);
    expect(bucket.tryTake('a', 2)).toEqual({ ok: true, remaining: 0 });
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('KeyedTokenBucket: maxKeys', () => {
  it('refuses a new key when the table is full of refilling buckets', async () => {
    const bucket = new KeyedTokenBucket({ capacity: 2, refillPerSecond: 1, now, maxKeys: 2 });
    expect(bucket.tryTake('a', 2).ok).toBe(true);
    vi.setSystemTime(Date.now() + 500);
    expect(bucket.tryTake('b', 1).ok).toBe(true);
    // 'a' is full again in 1500 ms, 'b' in 1000 ms: a slot frees in 1000 ms.
    expect(bucket.tryTake('c')).toEqual({ ok: false, retryAfterMs: 1000 });
    const error = await bucket.take('c').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QueueFullError);
    expect((error as QueueFullError).code).toBe('QUEUE_FULL');
    expect((error as Error).message).toMatch(/maxKeys is 2/);
    // Known keys keep working.
    expect(bucket.tryTake('b').ok).toBe(true);
    expect(bucket.size).toBe(2);
  });

  it('makes room by pruning buckets that have refilled', () => {
    const bucket = new KeyedTokenBucket({ capacity: 1, refillPerSecond: 1, now, maxKeys: 2 });
    bucket.tryTake('a');
    bucket.tryTake('b');
    expect(bucket.tryTake('c').ok).toBe(false);
    vi.setSystemTime(Date.now() + 1000);
    expect(bucket.tryTake('c')).toEqual({ ok: true, remaining: 0 });
    expect(bucket.size).toBe(1);
  });

  it('maxKeys 0 refuses every key', async () => {
    const bucket = new KeyedTokenBucket({ capacity: 4, refillPerSecond: 2, now, maxKeys: 0 });
    expect(bucket.tryTake('a')).toEqual({ ok: false, retryAfterMs: 2000 });
    await expect(bucket.take('a')).rejects.toBeInstanceOf(QueueFullError);
  });
});

describe('KeyedTokenBucket: close', () => {
  it('rejects every waiter with ClosedError and refuses afterwards', async () => {
    const bucket = new KeyedTokenBucket({ capacity: 1, refillPerSecond: 1, now });
    bucket.tryTake('a');
    bucket.tryTake('b');
    const reason = new Error('bye');
    const waits = [bucket.take('a'), bucket.take('b'), bucket.take('a')].map((p) =>
      p.catch((e: unknown) => e),
    );
    bucket.close(reason);
    for (const error of await Promise.all(waits)) {
      expect(error).toBeInstanceOf(ClosedError);
      expect((error as ClosedError).cause).toBe(reason);
    }
    expect(vi.getTimerCount()).toBe(0);
    expect(bucket.closed).toBe(true);
    expect(bucket.size).toBe(0);
    await expect(bucket.take('a')).rejects.toBeInstanceOf(ClosedError);
    expect(() => bucket.tryTake('a')).toThrow(ClosedError);
  });
});

describe('KeyedTokenBucket: properties', () => {
  it('answers exactly as one TokenBucket per key would, pruning or not', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.double({ min: 0.5, max: 50, noNaN: true }),
        fc.array(
          fc.tuple(
            fc.integer({ min: 0, max: 4 }),
            fc.integer({ min: 1, max: 5 }),
            fc.integer({ min: 0, max: 400 }),
          ),
          { minLength: 1, maxLength: 200 },
        ),
        (capacity, rate, ops) => {
          let t = 0;
          const clock = () => t;
          const keyed = new KeyedTokenBucket<number>({
            capacity,
            refillPerSecond: rate,
            now: clock,
          });
          const model = new Map<number, TokenBucket>();
          for (const [key, want, gap] of ops) {
            t += gap;
            const tokens = Math.min(want, capacity);
            let bucket = model.get(key);
            if (bucket === undefined) {
              bucket = new TokenBucket({ capacity, refillPerSecond: rate, now: clock });
              model.set(key, bucket);
            }
            expect(keyed.tryTake(key, tokens)).toEqual(bucket.tryTake(tokens));
            expect(keyed.tokens(key)).toBe(bucket.tokens);
          }
          const notFull = [...model.values()].filter((b) => b.tokens < capacity).length;
          // A bucket that is full by whole tokens may still lack a fraction: size counts it.
          expect(keyed.size).toBeGreaterThanOrEqual(notFull);
          t += (capacity / rate) * 1000;
          expect(keyed.size).toBe(0);
        },
      ),
      { numRuns: 200 },
    );
  });
});
