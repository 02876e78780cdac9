import {
  KeyedTokenBucket,
  type LimiterListener,
  limiterKind,
  type RateLimiter,
  type TryTakeResult,
  type WaitOptions,
} from '@sluice/core';
import { RemoteBucket } from './internal/remote-bucket.js';
import type { RedisStore } from './redis-store.js';
import type { RedisTokenBucketOptions } from './redis-token-bucket.js';

export type RedisKeyedTokenBucketOptions = RedisTokenBucketOptions;

/**
 * One token bucket per key (e.g. per client), shared by every process on the same Redis: what
 * the adapters' `rateLimit({ limiter })` takes. Each key is one Redis key,
 * `${prefix}:{${name}}:bucket:${key}`, that expires when its bucket is full again.
 *
 * @example
 * ```ts
 * const perClient = new RedisKeyedTokenBucket(store, { name: 'api', capacity: 20, refillPerSecond: 10 });
 * app.use('/api', rateLimit({ limiter: perClient }));
 * ```
 */
export class RedisKeyedTokenBucket<K = string> implements RateLimiter<K> {
  readonly #bucket: RemoteBucket;
  readonly #prefix: string;
  #local: KeyedTokenBucket<string> | undefined;

  constructor(store: RedisStore, options: RedisKeyedTokenBucketOptions) {
    this.#bucket = new RemoteBucket(store, options, 'RedisKeyedTokenBucket', true);
    this.#prefix = this.#bucket.store.key(this.#bucket.name, 'bucket:');
  }

  /** The brand adapters read (see `limiterKind` in @sluice/core). */
  get [limiterKind](): 'rate-limiter' {
    return 'rate-limiter';
  }

  get name(): string {
    return this.#bucket.name;
  }

  get capacity(): number {
    return this.#bucket.capacity;
  }

  get refillPerSecond(): number {
    return this.#bucket.refillPerSecond;
  }

  /**
   * Takes `tokens` (default 1) from `key`'s bucket if they are there now; never waits. Keys are
   * turned into strings. Rejects like `RedisTokenBucket.tryTake`.
   */
  tryTake(key: K, tokens = 1): Promise<TryTakeResult> {
    try {
      this.#bucket.check(tokens);
    } catch (error) {
      return Promise.reject(error);
    }
    const k = String(key);
    return this.#bucket.tryTake(this.#prefix + k, tokens, () => this.#fallback(k), key);
  }

  /** Resolves once `tokens` are taken from `key`'s bucket, FIFO per key; as `RedisTokenBucket.take`. */
  take(key: K, tokens = 1, options?: WaitOptions): Promise<void> {
    try {
      this.#bucket.check(tokens, options);
    } catch (error) {
      return Promise.reject(error);
    }
    const k = String(key);
    return this.#bucket.take(this.#prefix + k, tokens, options, () => this.#fallback(k), key);
  }

  /**
   * Calls `listener` with this process's decisions: `acquired` (tokens taken; `waitedMs` for a
   * `take` that slept on its reservation), `queued` (a `take` that must wait), `rejected`
   * (`rate_limited`, `queue_timeout`, `aborted`, `unavailable`, `closed`), each with `key`.
   * Other processes' decisions are not seen. Returns the function that unsubscribes.
   */
  subscribe(listener: LimiterListener<K>): () => void {
    return this.#bucket.listeners.subscribe(listener as LimiterListener<unknown>);
  }

  #fallback(key: string) {
    this.#local ??= new KeyedTokenBucket<string>({
      capacity: this.capacity,
      refillPerSecond: this.refillPerSecond,
    });
    const local = this.#local;
    return {
      tryTake: (n: number) => local.tryTake(key, n),
      take: (n: number, o: WaitOptions) => local.take(key, n, o),
    };
  }
}
