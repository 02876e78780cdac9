import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ClosedError, QueueFullError, TimeoutError } from './errors.js';
import { recordEvents } from './internal/record-events.js';
import { KeyedTokenBucket } from './keyed-token-bucket.js';
import { TokenBucket } from './token-bucket.js';

// Events of TokenBucket and KeyedTokenBucket, on an injected clock that fake timers move.
const now = () => Date.now();

const record = recordEvents;

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(1_000_000);
});

afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

describe('TokenBucket events', () => {
  it('tryTake: acquired for tokens taken, rejected rate_limited for a refusal; never released', () => {
    const bucket = new TokenBucket({ capacity: 3, refillPerSecond: 1, now });
    const { events } = record(bucket);
    expect(bucket.tryTake(2).ok).toBe(true);
    expect(bucket.tryTake(2).ok).toBe(false);
    expect(events).toStrictEqual([
      { type: 'acquired', weight: 2, waitedMs: 0 },
      { type: 'rejected', reason: 'rate_limited', weight: 2, waitedMs: 0 },
    ]);
  });

  it('take: at once (waitedMs 0), then queued and acquired with the refill wait, FIFO', async () => {
    const bucket = new TokenBucket({ capacity: 2, refillPerSecond: 10, now });
    const { events } = record(bucket);
    await bucket.take(2);
    const a = bucket.take(2); // 200 ms of refill
    const b = bucket.take(1); // 100 ms more
    await vi.advanceTimersByTimeAsync(300);
    await a;
    await b;
    expect(events).toStrictEqual([
      { type: 'acquired', weight: 2, waitedMs: 0 },
      { type: 'queued', weight: 2 },
      { type: 'queued', weight: 1 },
      { type: 'acquired', weight: 2, waitedMs: 200 },
      { type: 'acquired', weight: 1, waitedMs: 300 },
    ]);
  });

  it('take rejections: queue_timeout (at once, the wait is known), aborted (waiting and already), closed', async () => {
    const bucket = new TokenBucket({ capacity: 1, refillPerSecond: 10, now });
    const { events } = record(bucket);
    await bucket.take();
    await expect(bucket.take(1, { timeout: 50 })).rejects.toBeInstanceOf(TimeoutError);
    const controller = new AbortController();
    const waiting = bucket.take(1, { signal: controller.signal });
    await vi.advanceTimersByTimeAsync(40);
    controller.abort();
    await expect(waiting).rejects.toBeDefined();
    await expect(bucket.take(1, { signal: controller.signal })).rejects.toBeDefined();
    const closing = bucket.take(1);
    await vi.advanceTimersByTimeAsync(30); // refill due at 100 ms: still waiting
    bucket.close();
    await expect(closing).rejects.toBeInstanceOf(ClosedError);
    await expect(bucket.take()).rejects.toBeInstanceOf(ClosedError);
    expect(events).toStrictEqual([
      { type: 'acquired', weight: 1, waitedMs: 0 },
      { type: 'rejected', reason: 'queue_timeout', weight: 1, waitedMs: 0 },
      { type: 'queued', weight: 1 },
      { type: 'rejected', reason: 'aborted', weight: 1, waitedMs: 40 },
      { type: 'rejected', reason: 'aborted', weight: 1, waitedMs: 0 },
      { type: 'queued', weight: 1 },
      { type: 'rejected', reason: 'closed', weight: 1, waitedMs: 30 },
      { type: 'rejected', reason: 'closed', weight: 1, waitedMs: 0 },
    ]);
  });

  it('a shared signal: the aborted waiters are reported before the one behind is served', async () => {
    const bucket = new TokenBucket({ capacity: 2, refillPerSecond: 10, now });
    await bucket.take(2);
    await vi.advanceTimersByTimeAsync(100); // 1 token
    const controller = new AbortController();
    const a = bucket.take(2, { signal: controller.signal });
    const b = bucket.take(2, { signal: controller.signal });
    const c = bucket.take(1);
    const { events } = record(bucket);
    controller.abort();
    await expect(a).rejects.toBeDefined();
    await expect(b).rejects.toBeDefined();
    await c;
    // Queued before subscribing: their waits are timed from the subscription.
    expect(events).toStrictEqual([
      { type: 'rejected', reason: 'aborted', weight: 2, waitedMs: 0 },
      { type: 'rejected', reason: 'aborted', weight: 2, waitedMs: 0 },
      { type: 'acquired', weight: 1, waitedMs: 0 },
    ]);
  });

  it('a throwing listener changes nothing, and is reported', async () => {
    const reportError = vi.fn();
    vi.stubGlobal('reportError', reportError);
    const bucket = new TokenBucket({ capacity: 1, refillPerSecond: 10, now });
    bucket.subscribe(() => {
      throw new Error('bug');
    });
    await bucket.take();
    const waiting = bucket.take();
    await vi.advanceTimersByTimeAsync(100);
    await waiting;
    expect(bucket.tryTake().ok).toBe(false);
    expect(reportError).toHaveBeenCalledTimes(4);
  });

  it('unsubscribed: nothing more, and no clock read for events', () => {
    const clock = vi.fn(now);
    const bucket = new TokenBucket({ capacity: 5, refillPerSecond: 1, now: clock });
    const { events, stop } = record(bucket);
    bucket.tryTake();
    stop();
    stop();
    clock.mockClear();
    bucket.tryTake();
    // tryTake reads the clock once for its refill, and no more for events.
    expect(clock).toHaveBeenCalledTimes(1);
    expect(events).toHaveLength(1);
  });
});

describe('KeyedTokenBucket events', () => {
  it('every event carries its key', async () => {
    const keyed = new KeyedTokenBucket<string>({ capacity: 1, refillPerSecond: 10, now });
    const { events } = record(keyed);
    keyed.tryTake('a');
    keyed.tryTake('a');
    const waiting = keyed.take('a');
    await vi.advanceTimersByTimeAsync(100);
    await waiting;
    await keyed.take('b');
    expect(events).toStrictEqual([
      { type: 'acquired', weight: 1, waitedMs: 0, key: 'a' },
      { type: 'rejected', reason: 'rate_limited', weight: 1, waitedMs: 0, key: 'a' },
      { type: 'queued', weight: 1, key: 'a' },
      { type: 'acquired', weight: 1, waitedMs: 100, key: 'a' },
      { type: 'acquired', weight: 1, waitedMs: 0, key: 'b' },
    ]);
  });

  it('rejections with the key: queue_full beyond maxKeys (take and tryTake), aborted, closed', async () => {
    const keyed = new KeyedTokenBucket<string>({
      capacity: 1,
      refillPerSecond: 1,
      now,
      maxKeys: 1,
    });
    const { events } = record(keyed);
    keyed.tryTake('a');
    expect(keyed.tryTake('b').ok).toBe(false);
    await expect(keyed.take('b')).rejects.toBeInstanceOf(QueueFullError);
    const controller = new AbortController();
    controller.abort();
    await expect(keyed.take('c', 1, { signal: controller.signal })).rejects.toBeDefined();
    const waiting = keyed.take('a');
    await vi.advanceTimersByTimeAsync(250);
    keyed.close();
    await expect(waiting).rejects.toBeInstanceOf(ClosedError);
    await expect(keyed.take('d')).rejects.toBeInstanceOf(ClosedError);
    expect(events.filter((e) => e.type === 'rejected')).toStrictEqual([
      { type: 'rejected', reason: 'queue_full', weight: 1, waitedMs: 0, key: 'b' },
      { type: 'rejected', reason: 'queue_full', weight: 1, waitedMs: 0, key: 'b' },
      { type: 'rejected', reason: 'aborted', weight: 1, waitedMs: 0, key: 'c' },
      { type: 'rejected', reason: 'closed', weight: 1, waitedMs: 250, key: 'a' },
      { type: 'rejected', reason: 'closed', weight: 1, waitedMs: 0, key: 'd' },
    ]);
  });

  it('after the last unsubscribe no key reports', () => {
    const keyed = new KeyedTokenBucket<string>({ capacity: 2, refillPerSecond: 1, now });
    const { events, stop } = record(keyed);
    keyed.tryTake('a');
    stop();
    keyed.tryTake('a');
    keyed.tryTake('b');
    expect(events).toHaveLength(1);
  });
});
