import {
  type AcquireOptions,
  type Limiter,
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
import { type SemaphoreKeys, semaphoreKeys, statsOf } from './internal/semaphore-scripts.js';
import type { LeasedPermit } from './leased-permit.js';
import type { RedisStore } from './redis-store.js';

export interface RedisSemaphoreOptions extends LeaseOptions {
  /** The limiter's name: its keys are `${prefix}:{${name}}:...`. Non-empty, no `{` or `}`. */
  name: string;
  /** Most weight held at once by every process together: a positive integer. */
  capacity: number;
  /** Most waiters queued at once (fleet-wide); past it `acquire` rejects with QueueFullError. Default Infinity. */
  maxWaiting?: number;
}

/**
 * A weighted semaphore shared by every process on the same Redis: strict FIFO by ticket, leased
 * permits with a lost-lease signal and a fencing token, one Lua script per decision on Redis's
 * clock, wake-ups by message.
 *
 * @example
 * ```ts
 * const db = new RedisSemaphore(store, { name: 'reports-db', capacity: 5 });
 * await db.run(async (signal) => runReport({ signal }));   // 5 at once across the fleet
 * ```
 */
export class RedisSemaphore implements Limiter {
  readonly name: string;
  readonly capacity: number;
  readonly #store: RedisStore;
  readonly #at: SemaphoreKeys;
  readonly #counters: Counters = { acquired: 0, timedOut: 0, aborted: 0, rejected: 0 };
  readonly #remote: RemoteSemaphore;
  readonly #listeners = new Listeners(false);
  #local: Semaphore | undefined;

  constructor(store: RedisStore, options: RedisSemaphoreOptions) {
    const o = checkOptions(store, options, new.target.name);
    this.name = o.name;
    this.capacity = checkCapacity(o.capacity);
    this.#store = o.store;
    this.#at = semaphoreKeys(o.store, o.name);
    this.#remote = new RemoteSemaphore({
      store: o.store,
      at: this.#at,
      capacity: this.capacity,
      lease: o.lease,
      waiterTtl: o.waiterTtl,
      maxWaiting: o.maxWaiting,
      counters: this.#counters,
      listeners: this.#listeners,
      local: () => {
        this.#local ??= new Semaphore(this.capacity);
        return this.#local;
      },
    });
  }

  /** The brand adapters read (see core's `limiterKind`). */
  get [limiterKind](): 'limiter' {
    return 'limiter';
  }

  /**
   * Resolves with a LeasedPermit once `weight` (default 1) is granted, in ticket order across
   * every process. `timeout: 0` asks "now or never" in one round trip. Rejects with
   * TimeoutError, `signal.reason`, QueueFullError, ClosedError, or UnavailableError when Redis
   * cannot answer (with `whenUnavailable: 'reject'`); bad arguments reject with RangeError or
   * TypeError.
   */
  acquire(options?: AcquireOptions): Promise<LeasedPermit> {
    let weight: number;
    try {
      weight = checkAcquire(options, this.capacity);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#remote.acquire(weight, options);
  }

  /**
   * Acquires, calls `fn(permit.signal)`, and releases in `finally` (the release is confirmed in
   * the background). The signal aborts if the lease is lost while `fn` runs.
   */
  async run<T>(fn: (signal: AbortSignal) => T | Promise<T>, options?: AcquireOptions): Promise<T> {
    const permit = await this.acquire(options);
    try {
      return await fn(permit.signal);
    } finally {
      permit.release();
    }
  }

  /**
   * Calls `listener` with core's events for this process's acquires: `queued`, `acquired`
   * (`waitedMs`), `released` (`heldMs`), and `rejected` (`queue_full`, `queue_timeout`, `aborted`,
   * `closed`, `unavailable`). Other processes' are not seen; the gauges fleet-wide are in
   * `stats()`. Returns the function that unsubscribes.
   */
  subscribe(listener: LimiterListener): () => void {
    return this.#listeners.subscribe(listener as LimiterListener<unknown>);
  }

  /**
   * Rejects this instance's waiters (and its later acquires) with ClosedError, `cause` being
   * `reason`. Holders can still release. Other processes are not affected.
   */
  close(reason?: unknown): void {
    this.#remote.close(reason);
  }

  /**
   * As Redis sees it. Fleet-wide: `capacity`, `inUse`, `available`, `waiting` and `maxInUse`
   * (the highest `inUse` since the limiter's keys were created; they expire once it is idle).
   * This process only: `acquired`, `timedOut`, `aborted`, `rejected`.
   */
  stats(): Promise<SemaphoreStats> {
    return statsOf(this.#store, this.#at, this.capacity, this.#counters);
  }
}
