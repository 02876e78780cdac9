import {
  type LimiterListener,
  TokenBucket,
  type TryTakeResult,
  type WaitOptions,
} from '@sluice/core';
import { type LocalBucket, RemoteBucket } from './internal/remote-bucket.js';
import type { RedisStore } from './redis-store.js';

export interface RedisTokenBucketOptions {
  /** The limiter's name: its keys are `${prefix}:{${name}}:...`. Non-empty, no `{` or `}`. */
  name: string;
  /** Most tokens the bucket holds (the burst): a positive integer. It starts full. */
  capacity: number;
  /** Tokens added per second, continuously: a finite number > 0. */
  refillPerSecond: number;
}

/**
 * One token bucket shared by every process on the same Redis: GCRA, one key, one Lua script
 * (one round trip) per decision on Redis's clock. `take` waits by reservation, FIFO across
 * processes, without polling.
 *
 * @example
 * ```ts
 * const outbound = new RedisTokenBucket(store, { name: 'partner-api', capacity: 10, refillPerSecond: 5 });
 * await outbound.take();            // every process together: 5 calls/s, bursts of 10
 * await callPartner();
 * ```
 */
export class RedisTokenBucket {
  readonly #bucket: RemoteBucket;
  readonly #key: string;
  #local: LocalBucket | undefined;

  constructor(store: RedisStore, options: RedisTokenBucketOptions) {
    this.#bucket = new RemoteBucket(store, options, 'RedisTokenBucket', false);
    this.#key = this.#bucket.store.key(this.#bucket.name, 'bucket');
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
   * Takes `tokens` (default 1) if they are there now and nobody holds a reservation ahead;
   * never waits. Rejects with RangeError for more than `capacity`, UnavailableError when Redis
   * cannot answer (with `whenUnavailable: 'reject'`), ClosedError once the store is closed.
   */
  tryTake(tokens = 1): Promise<TryTakeResult> {
    try {
      this.#bucket.check(tokens);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#bucket.tryTake(this.#key, tokens, () => this.#fallback());
  }

  /**
   * Resolves once `tokens` (default 1) are taken. The script reserves them at once and returns
   * when they will be there; this call sleeps until then, so callers are served in the order
   * their reservations reached Redis. With a `timeout` shorter than that wait it rejects at once
   * with TimeoutError and reserves nothing. An abort rejects with `signal.reason`; tokens already
   * reserved are forfeited.
   */
  take(tokens = 1, options?: WaitOptions): Promise<void> {
    try {
      this.#bucket.check(tokens, options);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#bucket.take(this.#key, tokens, options, () => this.#fallback());
  }

  /**
   * Calls `listener` with this process's decisions: `acquired` (tokens taken; `waitedMs` for a
   * `take` that slept on its reservation), `queued` (a `take` that must wait), `rejected`
   * (`rate_limited`, `queue_timeout`, `aborted`, `unavailable`, `closed`). Other processes'
   * decisions are not seen. Returns the function that unsubscribes.
   */
  subscribe(listener: LimiterListener): () => void {
    return this.#bucket.listeners.subscribe(listener as LimiterListener<unknown>);
  }

  #fallback(): LocalBucket {
    if (this.#local === undefined) {
      const local = new TokenBucket({
        capacity: this.capacity,
        refillPerSecond: this.refillPerSecond,
      });
      this.#local = { tryTake: (n) => local.tryTake(n), take: (n, o) => local.take(n, o) };
    }
    return this.#local;
  }
}
