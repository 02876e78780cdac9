// Hand-written limiters for the adapter tests: a remote RateLimiter and a remote Limiter (no
// synchronous answer: each decision comes back late, as from a shared store), and an adaptive
// Limiter whose permits record how they were given back. Shared by the three adapters' tests.

import {
  type AcquireOptions,
  type AdaptivePermit,
  type KeyedLimiter,
  KeyedSemaphore,
  KeyedTokenBucket,
  type Limiter,
  limiterKind,
  type Permit,
  type RateLimiter,
  Semaphore,
  type TryTakeResult,
} from '@sluice/core';

const later = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * A RateLimiter whose `tryTake` answers after `delayMs` (the decision is taken in the inner
 * KeyedTokenBucket when the answer comes, as a store would). `fail` makes every answer a
 * rejection; `degraded` marks every grant as degraded.
 */
export class RemoteRateLimiter implements RateLimiter<string> {
  readonly [limiterKind] = 'rate-limiter' as const;
  readonly capacity: number;
  readonly refillPerSecond: number;
  readonly inner: KeyedTokenBucket<string>;
  /** Calls not answered yet. */
  pending = 0;
  calls = 0;
  fail: unknown = undefined;
  degraded = false;
  readonly delayMs: number;

  constructor(options: { capacity: number; refillPerSecond: number; delayMs: number }) {
    this.capacity = options.capacity;
    this.refillPerSecond = options.refillPerSecond;
    this.inner = new KeyedTokenBucket<string>(options);
    this.delayMs = options.delayMs;
  }

  async tryTake(key: string, tokens = 1): Promise<TryTakeResult> {
    this.calls++;
    this.pending++;
    try {
      await later(this.delayMs);
      if (this.fail !== undefined) throw this.fail;
      const result = this.inner.tryTake(key, tokens);
      return result.ok && this.degraded ? { ...result, degraded: true } : result;
    } finally {
      this.pending--;
    }
  }
}

/**
 * A Limiter with no `tryAcquire`: `acquire` answers after `delayMs` from an inner Semaphore.
 * With `honourSignal: false` it grants even to a caller that gave up meanwhile (the worst a
 * store can do), so the adapter must give that permit back itself. `fail` rejects every acquire.
 */
export class RemoteLimiter implements Limiter {
  readonly [limiterKind] = 'limiter' as const;
  readonly inner: Semaphore;
  readonly delayMs: number;
  honourSignal: boolean;
  fail: unknown = undefined;
  pending = 0;
  acquired = 0;
  /** Options of every acquire, as received. */
  readonly seen: AcquireOptions[] = [];

  constructor(capacity: number, options: { delayMs: number; honourSignal?: boolean }) {
    this.inner = new Semaphore(capacity);
    this.delayMs = options.delayMs;
    this.honourSignal = options.honourSignal ?? true;
  }

  get inUse(): number {
    return this.inner.inUse;
  }

  async acquire(options: AcquireOptions = {}): Promise<Permit> {
    this.seen.push(options);
    this.pending++;
    try {
      await later(this.delayMs);
      if (this.fail !== undefined) throw this.fail;
      const { signal, ...rest } = options;
      const permit = await this.inner.acquire(this.honourSignal ? options : rest);
      this.acquired++;
      return permit;
    } finally {
      this.pending--;
    }
  }
}

/** The keyed kind of RemoteLimiter: one remote limit per key, no `tryAcquire`. */
export class RemoteKeyedLimiter implements KeyedLimiter<string> {
  readonly [limiterKind] = 'keyed-limiter' as const;
  readonly inner: KeyedSemaphore<string>;
  readonly delayMs: number;
  fail: unknown = undefined;

  constructor(capacity: number, options: { delayMs: number }) {
    this.inner = new KeyedSemaphore<string>(capacity, { maxWaiting: 0 });
    this.delayMs = options.delayMs;
  }

  async acquire(key: string, options?: AcquireOptions): Promise<Permit> {
    await later(this.delayMs);
    if (this.fail !== undefined) throw this.fail;
    return this.inner.acquire(key, options);
  }
}

/** How each permit of an AdaptiveLimiter was given back, in order. */
export type Ending = 'release' | 'drop' | 'ignore';

/** An in-process adaptive Limiter: a Semaphore whose permits record their ending. */
export class AdaptiveLimiter implements Limiter {
  readonly [limiterKind] = 'limiter' as const;
  readonly inner: Semaphore;
  readonly endings: Ending[] = [];

  constructor(capacity: number) {
    this.inner = new Semaphore(capacity);
  }

  get inUse(): number {
    return this.inner.inUse;
  }

  tryAcquire(weight?: number): AdaptivePermit | undefined {
    const permit = this.inner.tryAcquire(weight);
    return permit === undefined ? undefined : this.#adaptive(permit);
  }

  async acquire(options?: AcquireOptions): Promise<AdaptivePermit> {
    return this.#adaptive(await this.inner.acquire(options));
  }

  #adaptive(permit: Permit): AdaptivePermit {
    const endings = this.endings;
    const end = (how: Ending) => () => {
      if (permit.released) return;
      endings.push(how);
      permit.release();
    };
    return {
      weight: permit.weight,
      get released() {
        return permit.released;
      },
      release: end('release'),
      drop: end('drop'),
      ignore: end('ignore'),
      [Symbol.dispose]: end('release'),
    };
  }
}
