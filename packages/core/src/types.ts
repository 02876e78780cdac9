import type { limiterKind } from './limiter-kind.js';

/** How long, and until what, a caller is willing to wait. */
export interface WaitOptions {
  /** Abort the wait; the promise rejects with `signal.reason`. */
  signal?: AbortSignal;
  /** Longest wait in milliseconds (finite, >= 0); past it the promise rejects with `TimeoutError`. */
  timeout?: number;
}

/** Options of an acquire: a wait plus the number of permits wanted. */
export interface AcquireOptions extends WaitOptions {
  /** Permits to take at once: a positive integer, default 1. */
  weight?: number;
}

/** A held share of a limiter. Release it exactly once; `using` does that for you. */
export interface Permit extends Disposable {
  readonly weight: number;
  /** True once `release()` has run. */
  readonly released: boolean;
  /** Give the permits back. Idempotent: the second call does nothing. */
  release(): void;
}

/**
 * One shared limit: what the adapters' `concurrency({ limit })` accepts. Semaphore, Lock and
 * AdaptiveSemaphore are in-process limiters; a limiter backed by a shared store (one limit across
 * a fleet) is another. Brand your own with `[limiterKind]: 'limiter'`; an unbranded object with
 * an `acquire` method is taken as a Limiter too.
 */
export interface Limiter {
  readonly [limiterKind]?: 'limiter';
  /** `timeout: 0` asks "now or never": a remote limiter answers it in one round trip. */
  acquire(options?: AcquireOptions): Promise<Permit>;
  /** The synchronous fast path; in-process limiters only (a remote one cannot answer at once). */
  tryAcquire?(weight?: number): Permit | undefined;
}

/** One limit per key (e.g. per client): KeyedSemaphore, or one backed by a shared store. */
export interface KeyedLimiter<K = string> {
  readonly [limiterKind]: 'keyed-limiter';
  acquire(key: K, options?: AcquireOptions): Promise<Permit>;
  tryAcquire?(key: K, weight?: number): Permit | undefined;
}

/** The answer of a `tryTake`: taken, with what is left, or refused, with the wait a retry needs. */
export type TryTakeResult =
  | {
      ok: true;
      remaining: number;
      /** True when a remote limiter could not decide and admitted anyway (`whenUnavailable: 'allow'`). */
      degraded?: boolean;
    }
  | { ok: false; retryAfterMs: number };

/**
 * A rate limit per key: what the adapters' `rateLimit({ limiter })` accepts. KeyedTokenBucket
 * answers at once; a remote one answers with a promise (the check-and-take still happens in one
 * step, in the store).
 */
export interface RateLimiter<K = string> {
  readonly [limiterKind]: 'rate-limiter';
  readonly capacity: number;
  readonly refillPerSecond: number;
  tryTake(key: K, tokens?: number): TryTakeResult | Promise<TryTakeResult>;
}

/** A permit of an adaptive limiter: how it is given back is a sample of the downstream's health. */
export interface AdaptivePermit extends Permit {
  /** Success: the time held is a latency sample. */
  release(): void;
  /** Overload seen (a timeout, a 503/429 from downstream): a loss sample. */
  drop(): void;
  /** Released without a sample (the work was not representative, e.g. the client left). */
  ignore(): void;
}

/** One observation handed to a LimitAlgorithm. */
export interface LimitSample {
  /** Round-trip time of the work, in milliseconds. */
  rtt: number;
  /** Work in flight when this one started (itself included). */
  inFlight: number;
  /** True when the work saw overload (`drop()`). */
  dropped: boolean;
}

/** How an adaptive limit moves. Pure: the same sample and limit give the same answer. */
export interface LimitAlgorithm {
  update(sample: LimitSample, limit: number): number;
}

/** Gauges and counters of a Semaphore. */
export interface SemaphoreStats {
  capacity: number;
  available: number;
  inUse: number;
  waiting: number;
  /** Highest `inUse` seen. */
  maxInUse: number;
  /** Grants, immediate or after a wait. */
  acquired: number;
  /** Waits that ended by their timeout. */
  timedOut: number;
  /** Waits that ended by their signal. */
  aborted: number;
  /** Acquires refused because `maxWaiting` was reached. */
  rejected: number;
}
