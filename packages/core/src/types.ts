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
 * What the adapters accept: anything that grants a `Permit`. A Semaphore is one; a limiter
 * backed by a shared store (one limit across a fleet) can be another.
 */
export interface Limiter {
  acquire(options?: AcquireOptions): Promise<Permit>;
  tryAcquire(weight?: number): Permit | undefined;
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
