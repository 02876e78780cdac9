import { ClosedError, QueueFullError } from './errors.js';
import type { LimiterListener, Observable } from './events.js';
import { type BucketConfig, BucketCore } from './internal/bucket-core.js';
import { bucketConfig, checkTake, checkTryTake } from './internal/bucket-options.js';
import { EventHub } from './internal/event-hub.js';
import { assertLimit } from './internal/validate.js';
import { limiterKind } from './limiter-kind.js';
import type { TokenBucketOptions } from './token-bucket.js';
import type { RateLimiter, TryTakeResult, WaitOptions } from './types.js';

export interface KeyedTokenBucketOptions extends TokenBucketOptions {
  /**
   * Most keys tracked at once (keys whose bucket is not full). A new key beyond it is refused:
   * `take` rejects with QueueFullError, `tryTake` returns `{ ok: false, retryAfterMs }`.
   * An integer >= 0 or Infinity; default Infinity.
   */
  maxKeys?: number;
}

// A sweep costs O(keys it finds); running one every max(keys left by the last one,
// SWEEP_EVERY) operations keeps the amortized cost per operation O(1), and the table at most
// twice the keys alive (plus SWEEP_EVERY).
const SWEEP_EVERY = 1024;

/**
 * One token bucket per key, e.g. per client. A full bucket with nobody waiting carries no
 * information, so it is dropped: memory follows the keys that were active within the last
 * refill time, not every key ever seen. No timer runs for idle keys.
 *
 * @example
 * ```ts
 * const perClient = new KeyedTokenBucket({ capacity: 5, refillPerSecond: 1 });
 * const r = perClient.tryTake(clientIp);
 * if (!r.ok) reply429(Math.ceil(r.retryAfterMs / 1000));
 * ```
 */
export class KeyedTokenBucket<K = string> implements RateLimiter<K>, Observable<K> {
  readonly #config: BucketConfig;
  readonly #maxKeys: number;
  readonly #buckets = new Map<K, BucketCore>();
  #opsSinceSweep = 0;
  /** Operations until the next sweep: the table's size after the last one, at least SWEEP_EVERY. */
  #sweepAfter = SWEEP_EVERY;
  /** After a sweep: ms until the soonest tracked bucket is full again (a key slot frees). */
  #soonestFreeMs = 0;
  #closed = false;
  #events: EventHub | undefined;

  constructor(options: KeyedTokenBucketOptions) {
    this.#config = bucketConfig(options);
    const maxKeys = options.maxKeys ?? Number.POSITIVE_INFINITY;
    assertLimit('maxKeys', maxKeys);
    this.#maxKeys = maxKeys;
  }

  /** The brand adapters read (see `limiterKind`). */
  get [limiterKind](): 'rate-limiter' {
    return 'rate-limiter';
  }

  get capacity(): number {
    return this.#config.capacity;
  }

  get refillPerSecond(): number {
    return this.#config.rate;
  }

  get maxKeys(): number {
    return this.#maxKeys;
  }

  /**
   * Keys whose bucket is not full (or has waiters), computed from the clock: O(keys). Reading
   * it changes nothing (it serves no waiter; the table is pruned by the operations).
   */
  get size(): number {
    let size = 0;
    for (const bucket of this.#buckets.values()) if (!bucket.isFull(bucket.peek())) size++;
    return size;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Whole tokens `key` has now (`capacity` for a key not tracked), computed from the clock.
   * Changes nothing: it neither creates the key nor serves its waiters.
   */
  tokens(key: K): number {
    const bucket = this.#buckets.get(key);
    if (bucket === undefined) return this.#config.capacity;
    return bucket.remaining(bucket.peek());
  }

  /**
   * Take `tokens` from `key`'s bucket if they are there and nobody waits on that key; never
   * waits. A new key beyond `maxKeys` gets `{ ok: false }` with `retryAfterMs` until the
   * soonest tracked key refills and frees a slot (an HTTP rate limiter answers 429 either way,
   * and a flood of new keys can neither get through nor grow the table). Throws RangeError for
   * more than `capacity`, ClosedError once closed.
   */
  tryTake(key: K, tokens = 1): TryTakeResult {
    checkTryTake(this.#config.capacity, tokens);
    if (this.#closed) throw new ClosedError(undefined, 'Token bucket is closed');
    this.#tick();
    const bucket = this.#bucket(key);
    if (bucket === undefined) {
      this.#config.events?.refused('queue_full', tokens, key);
      return { ok: false, retryAfterMs: Math.max(1, this.#soonestFreeMs) };
    }
    return bucket.tryTake(tokens);
  }

  /**
   * Resolves once `tokens` have been taken from `key`'s bucket, FIFO per key. Rejects like
   * `TokenBucket.take`, and with QueueFullError for a new key beyond `maxKeys`.
   */
  take(key: K, tokens = 1, options?: WaitOptions): Promise<void> {
    try {
      checkTake(this.#config.capacity, tokens, options);
    } catch (error) {
      return Promise.reject(error);
    }
    const events = this.#config.events;
    if (this.#closed) {
      events?.refused('closed', tokens, key);
      return Promise.reject(new ClosedError(undefined, 'Token bucket is closed'));
    }
    const signal = options?.signal;
    if (signal?.aborted) {
      events?.refused('aborted', tokens, key);
      return Promise.reject(signal.reason);
    }
    this.#tick();
    const bucket = this.#bucket(key);
    if (bucket === undefined) {
      events?.refused('queue_full', tokens, key);
      return Promise.reject(new QueueFullError(`Too many keys: maxKeys is ${this.#maxKeys}`));
    }
    return bucket.take(tokens, signal, options?.timeout);
  }

  /** Rejects every waiter, then every later `take` and `tryTake`, with ClosedError (`cause`: reason). */
  close(reason?: unknown): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const bucket of this.#buckets.values()) bucket.close(reason);
    this.#buckets.clear();
  }

  /**
   * Like `TokenBucket#subscribe`, for every key: each event carries its `key`. A new key
   * refused beyond `maxKeys` is `rejected` with reason `queue_full` (by `take` and `tryTake`).
   */
  subscribe(listener: LimiterListener<K>): () => void {
    const config = this.#config;
    this.#events ??= new EventHub(config.now, true, (hub) => {
      config.events = hub;
    });
    return this.#events.subscribe(listener as LimiterListener<unknown>);
  }

  #bucket(key: K): BucketCore | undefined {
    const existing = this.#buckets.get(key);
    if (existing !== undefined) return existing;
    if (this.#buckets.size >= this.#maxKeys) {
      this.#sweep();
      if (this.#buckets.size >= this.#maxKeys) return undefined;
    }
    const bucket = new BucketCore(this.#config);
    bucket.key = key;
    this.#buckets.set(key, bucket);
    return bucket;
  }

  #tick(): void {
    if (++this.#opsSinceSweep >= this.#sweepAfter) this.#sweep();
  }

  /** Drop every bucket that has refilled to full with nobody waiting. */
  #sweep(): void {
    this.#opsSinceSweep = 0;
    let soonest = Number.POSITIVE_INFINITY;
    for (const [key, bucket] of this.#buckets) {
      bucket.sync();
      if (bucket.isFull()) this.#buckets.delete(key);
      else soonest = Math.min(soonest, bucket.msUntilFull());
    }
    this.#sweepAfter = Math.max(SWEEP_EVERY, this.#buckets.size);
    // With nothing tracked (maxKeys 0) no slot will ever free; a full refill is the honest hint.
    this.#soonestFreeMs = Number.isFinite(soonest)
      ? soonest
      : Math.ceil((this.#config.capacity * 1000) / this.#config.rate);
  }
}
