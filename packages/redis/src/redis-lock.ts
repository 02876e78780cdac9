import {
  type AcquireOptions,
  type Limiter,
  type LimiterListener,
  limiterKind,
  type SemaphoreStats,
  type WaitOptions,
} from '@sluice/core';
import type { LeaseOptions } from './internal/semaphore-options.js';
import type { LeasedPermit } from './leased-permit.js';
import { RedisSemaphore } from './redis-semaphore.js';
import type { RedisStore } from './redis-store.js';

export interface RedisLockOptions extends LeaseOptions {
  /** The lock's name: its keys are `${prefix}:{${name}}:...`. Non-empty, no `{` or `}`. */
  name: string;
  /** Most waiters queued at once (fleet-wide). Default Infinity. */
  maxWaiting?: number;
}

/**
 * A RedisSemaphore of 1: one holder across the fleet, FIFO, and a fencing token on every permit.
 *
 * @example
 * ```ts
 * const lock = new RedisLock(store, { name: 'nightly-job' });
 * await lock.run(async (signal) => storage.write(data, { fence: permit.fence, signal }));
 * ```
 */
export class RedisLock implements Limiter {
  readonly #semaphore: RedisSemaphore;

  constructor(store: RedisStore, options: RedisLockOptions) {
    this.#semaphore = new RedisSemaphore(store, { ...options, capacity: 1 });
  }

  get [limiterKind](): 'limiter' {
    return 'limiter';
  }

  get name(): string {
    return this.#semaphore.name;
  }

  /** Resolves with the lock's permit; `weight`, if given, must be 1. */
  acquire(options?: WaitOptions & Pick<AcquireOptions, 'weight'>): Promise<LeasedPermit> {
    return this.#semaphore.acquire(options);
  }

  run<T>(fn: (signal: AbortSignal) => T | Promise<T>, options?: WaitOptions): Promise<T> {
    return this.#semaphore.run(fn, options);
  }

  close(reason?: unknown): void {
    this.#semaphore.close(reason);
  }

  /** This process's events of the lock (see RedisSemaphore's `subscribe`). */
  subscribe(listener: LimiterListener): () => void {
    return this.#semaphore.subscribe(listener);
  }

  /** As Redis sees it (see RedisSemaphore's `stats`). */
  stats(): Promise<SemaphoreStats> {
    return this.#semaphore.stats();
  }
}
