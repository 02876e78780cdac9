import {
  type AcquireOptions,
  type KeyedLimiter,
  type LimiterListener,
  limiterKind,
  Semaphore,
  type SemaphoreStats,
} from '@sluice/core';
import { Listeners } from './internal/listeners.js';
import { type Counters, RemoteSemaphore } from './internal/remote-semaphore.js';
import {
  checkAcquire,
  checkCapacity,
  checkOptions,
  type LeaseOptions,
} from './internal/semaphore-options.js';
import { semaphoreKeys, statsOf } from './internal/semaphore-scripts.js';
import { assertFunction } from './internal/validate.js';
import type { LeasedPermit } from './leased-permit.js';
import type { RedisStore } from './redis-store.js';

export interface RedisKeyedSemaphoreOptions<K> extends LeaseOptions {
  /** The limiter's name: its keys are `${prefix}:{${name}}:k:${key}:...`. Non-empty, no `{` or `}`. */
  name: string;
  /** Capacity per key: a positive integer, or a function of the key returning one. */
  capacity: number | ((key: K) => number);
  /** Most waiters queued per key (fleet-wide). Default Infinity. */
  maxWaiting?: number;
}

/**
 * One RedisSemaphore per key (e.g. per tenant), shared by every process. A key with nothing held
 * and nothing waiting leaves nothing behind: in Redis its keys expire, here it is forgotten.
 *
 * @example
 * ```ts
 * const perTenant = new RedisKeyedSemaphore(store, { name: 'exports', capacity: 2 });
 * await perTenant.run(tenantId, (signal) => exportAll(tenantId, { signal }));
 * ```
 */
export class RedisKeyedSemaphore<K = string> implements KeyedLimiter<K> {
  readonly name: string;
  readonly #store: RedisStore;
  readonly #capacity: (key: K) => number;
  readonly #lease: number;
  readonly #waiterTtl: number;
  readonly #maxWaiting: number;
  readonly #counters: Counters = { acquired: 0, timedOut: 0, aborted: 0, rejected: 0 };
  readonly #keys = new Map<string, RemoteSemaphore>();
  readonly #locals = new Map<string, Semaphore>();
  readonly #listeners = new Listeners(true);
  #closed: { reason: unknown } | undefined;

  constructor(store: RedisStore, options: RedisKeyedSemaphoreOptions<K>) {
    const o = checkOptions(store, options, new.target.name);
    const { capacity } = options;
    if (typeof capacity === 'function') assertFunction('capacity', capacity);
    else checkCapacity(capacity);
    this.name = o.name;
    this.#store = o.store;
    this.#capacity = typeof capacity === 'function' ? capacity : () => capacity;
    this.#lease = o.lease;
    this.#waiterTtl = o.waiterTtl;
    this.#maxWaiting = o.maxWaiting;
  }

  get [limiterKind](): 'keyed-limiter' {
    return 'keyed-limiter';
  }

  /** Keys with something held or waiting in this process. */
  get size(): number {
    return this.#keys.size;
  }

  acquire(key: K, options?: AcquireOptions): Promise<LeasedPermit> {
    let weight: number;
    let entry: RemoteSemaphore;
    try {
      const part = this.#keyPart(key);
      const capacity = checkCapacity(this.#capacity(key));
      weight = checkAcquire(options, capacity);
      entry = this.#entry(part, capacity);
    } catch (error) {
      return Promise.reject(error);
    }
    return entry.acquire(weight, options, key);
  }

  async run<T>(
    key: K,
    fn: (signal: AbortSignal) => T | Promise<T>,
    options?: AcquireOptions,
  ): Promise<T> {
    const permit = await this.acquire(key, options);
    try {
      return await fn(permit.signal);
    } finally {
      permit.release();
    }
  }

  /**
   * Calls `listener` with core's events for this process's acquires: `queued`, `acquired`
   * (`waitedMs`), `released` (`heldMs`), and `rejected` (`queue_full`, `queue_timeout`, `aborted`,
   * `closed`, `unavailable`). Each carries `key`
   * as the caller passed it. Other processes' are not seen; the gauges fleet-wide are in
   * `stats()`. Returns the function that unsubscribes.
   */
  subscribe(listener: LimiterListener<K>): () => void {
    return this.#listeners.subscribe(listener as LimiterListener<unknown>);
  }

  /** Rejects this instance's waiters and later acquires with ClosedError. */
  close(reason?: unknown): void {
    this.#closed ??= { reason };
    for (const entry of this.#keys.values()) entry.close(reason);
  }

  /** One key as Redis sees it (see RedisSemaphore's `stats`; counters cover every key). */
  stats(key: K): Promise<SemaphoreStats> {
    try {
      const capacity = checkCapacity(this.#capacity(key));
      const at = semaphoreKeys(this.#store, this.name, `k:${this.#keyPart(key)}:`);
      return statsOf(this.#store, at, capacity, this.#counters);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #keyPart(key: K): string {
    const part = typeof key === 'string' ? key : String(key);
    if (part.length === 0 || /[{}]/.test(part)) {
      throw new TypeError(
        `Expected \`key\` to be non-empty without "{" or "}", got ${JSON.stringify(part)}`,
      );
    }
    return part;
  }

  #entry(part: string, capacity: number): RemoteSemaphore {
    let entry = this.#keys.get(part);
    if (entry === undefined) {
      entry = new RemoteSemaphore({
        store: this.#store,
        at: semaphoreKeys(this.#store, this.name, `k:${part}:`),
        capacity,
        lease: this.#lease,
        waiterTtl: this.#waiterTtl,
        maxWaiting: this.#maxWaiting,
        counters: this.#counters,
        listeners: this.#listeners,
        local: () => {
          let local = this.#locals.get(part);
          if (local === undefined) {
            local = new Semaphore(capacity);
            this.#locals.set(part, local);
          }
          return local;
        },
        onIdle: () => {
          // Nothing of this key is held or waiting here: forget it (a new acquire makes it anew).
          if (this.#keys.get(part)?.active === 0) {
            this.#keys.delete(part);
            const local = this.#locals.get(part);
            if (local !== undefined && local.inUse === 0 && local.waiting === 0)
              this.#locals.delete(part);
          }
        },
      });
      if (this.#closed) entry.close(this.#closed.reason);
      this.#keys.set(part, entry);
    }
    return entry;
  }
}
