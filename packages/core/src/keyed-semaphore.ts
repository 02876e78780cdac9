import { ClosedError, QueueFullError } from './errors.js';
import type { LimiterListener, Observable } from './events.js';
import { defaultNow } from './internal/clock.js';
import { EventHub } from './internal/event-hub.js';
import { assertAcquireOptions, SemaphoreCore, SignalHub } from './internal/semaphore-core.js';
import {
  assertCount,
  assertLimit,
  assertOptions,
  assertPositiveInteger,
} from './internal/validate.js';
import { limiterKind } from './limiter-kind.js';
import type { AcquireOptions, KeyedLimiter, Permit, SemaphoreStats } from './types.js';

export interface KeyedSemaphoreOptions {
  /** Most waiters queued per key; default Infinity, 0 never queues. */
  maxWaiting?: number;
  /** Most keys alive at once; a new key beyond it is refused with `QueueFullError`. Default Infinity. */
  maxKeys?: number;
}

/**
 * One Semaphore per key (e.g. per user), created on first use and dropped as soon as the key
 * holds nothing and nothing waits for it, so `size` counts keys in use, not keys ever seen.
 *
 * Public surface decision: besides the contract (acquire, tryAcquire, run, size) it has
 * `close(reason)` (shutdown must settle every key) and `stats(key)` (a live key's gauges and
 * counters; undefined for a key that is gone, since a dropped key keeps no history). No
 * per-key resize: the capacity function is read when a key comes alive.
 *
 * @example
 * const perUser = new KeyedSemaphore<string>(2, { maxWaiting: 10 });
 * await perUser.run(userId, () => render(userId));
 */
export class KeyedSemaphore<K = string> implements KeyedLimiter<K>, Observable<K> {
  readonly #capacity: number | ((key: K) => number);
  readonly #maxWaiting: number;
  readonly #maxKeys: number;
  readonly #cores = new Map<K, SemaphoreCore>();
  readonly #hub = new SignalHub();
  readonly #onEmpty = (core: SemaphoreCore): void => {
    const key = core.key as K;
    if (this.#cores.get(key) === core) this.#cores.delete(key);
  };
  #closed = false;
  #closeReason: unknown = undefined;
  #events: EventHub | undefined;
  /** The hub while it has listeners; every core points at it then, and new cores too. */
  #live: EventHub | null = null;

  constructor(capacity: number | ((key: K) => number), options?: KeyedSemaphoreOptions) {
    if (typeof capacity !== 'function') assertCount('capacity', capacity);
    assertOptions('options', options);
    const maxWaiting = options?.maxWaiting ?? Number.POSITIVE_INFINITY;
    assertLimit('maxWaiting', maxWaiting);
    const maxKeys = options?.maxKeys ?? Number.POSITIVE_INFINITY;
    assertLimit('maxKeys', maxKeys);
    this.#capacity = capacity;
    this.#maxWaiting = maxWaiting;
    this.#maxKeys = maxKeys;
  }

  /** The brand adapters read (see `limiterKind`). */
  get [limiterKind](): 'keyed-limiter' {
    return 'keyed-limiter';
  }

  /** Like `Semaphore#acquire`, for `key`; a new key beyond `maxKeys` rejects with `QueueFullError`. */
  acquire(key: K, options?: AcquireOptions): Promise<Permit> {
    const core = this.#coreFor(key, options);
    if (!(core instanceof SemaphoreCore)) return core;
    const result = core.acquire(options);
    this.#dropIfEmpty(core);
    return result;
  }

  /** A permit for `key` now, or undefined (someone waits, no room, closed, or `maxKeys` reached). */
  tryAcquire(key: K, weight?: number): Permit | undefined {
    let core = this.#cores.get(key);
    if (core === undefined) {
      if (weight !== undefined) assertPositiveInteger('weight', weight);
      if (this.#closed || this.#cores.size >= this.#maxKeys) return undefined;
      core = this.#create(key);
    }
    try {
      return core.tryAcquire(weight);
    } finally {
      this.#dropIfEmpty(core);
    }
  }

  /** Acquire for `key`, call `fn` in the caller's async context, release when it settles. */
  run<T>(key: K, fn: () => T | PromiseLike<T>, options?: AcquireOptions): Promise<T> {
    const core = this.#coreFor(key, options);
    if (!(core instanceof SemaphoreCore)) return core;
    const result = core.run(fn, undefined, undefined, options);
    this.#dropIfEmpty(core);
    return result;
  }

  /** Reject every waiter of every key (each key in FIFO order) and every later acquire with `ClosedError`. */
  close(reason?: unknown): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closeReason = reason;
    for (const core of [...this.#cores.values()]) core.close(reason);
  }

  /** A live key's stats, or undefined if the key holds nothing and nothing waits for it. */
  stats(key: K): SemaphoreStats | undefined {
    return this.#cores.get(key)?.stats();
  }

  /**
   * Like `Semaphore#subscribe`, for every key: each event carries its `key`. A key that comes
   * alive later reports to the same listeners.
   */
  subscribe(listener: LimiterListener<K>): () => void {
    this.#events ??= new EventHub(defaultNow, true, (hub) => {
      this.#live = hub;
      for (const core of this.#cores.values()) core.events = hub;
    });
    return this.#events.subscribe(listener as LimiterListener<unknown>);
  }

  /** Keys alive now. */
  get size(): number {
    return this.#cores.size;
  }

  // The key's core, or the rejection that refuses a new key before anything is created.
  #coreFor(key: K, options: AcquireOptions | undefined): SemaphoreCore | Promise<never> {
    const core = this.#cores.get(key);
    if (core !== undefined) return core;
    try {
      assertAcquireOptions(options);
      if (options?.signal?.aborted) {
        this.#live?.refused('aborted', options.weight ?? 1, key);
        return Promise.reject(options.signal.reason);
      }
      if (this.#closed) {
        this.#live?.refused('closed', options?.weight ?? 1, key);
        return Promise.reject(new ClosedError(this.#closeReason));
      }
      if (this.#cores.size >= this.#maxKeys) {
        this.#live?.refused('queue_full', options?.weight ?? 1, key);
        return Promise.reject(new QueueFullError(`Too many keys (maxKeys: ${this.#maxKeys})`));
      }
      return this.#create(key);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  // Throws if the capacity function throws or returns a bad capacity.
  #create(key: K): SemaphoreCore {
    let capacity = this.#capacity;
    if (typeof capacity === 'function') {
      capacity = capacity(key);
      assertCount('capacity', capacity);
    }
    const core = new SemaphoreCore(capacity, this.#maxWaiting, this.#hub, this.#onEmpty);
    core.key = key;
    core.events = this.#live;
    this.#cores.set(key, core);
    return core;
  }

  #dropIfEmpty(core: SemaphoreCore): void {
    if (core.inUse === 0 && core.waiting === 0) this.#onEmpty(core);
  }
}
