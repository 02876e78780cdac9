import { ClosedError } from './errors.js';
import type { LimiterListener, Observable } from './events.js';
import { BucketCore } from './internal/bucket-core.js';
import { bucketConfig, checkTake, checkTryTake } from './internal/bucket-options.js';
import { EventHub } from './internal/event-hub.js';
import type { TryTakeResult, WaitOptions } from './types.js';

export interface TokenBucketOptions {
  /** Most tokens the bucket holds (the burst): a positive integer. The bucket starts full. */
  capacity: number;
  /** Tokens added per second, continuously: a finite number > 0. */
  refillPerSecond: number;
  /** The clock, in milliseconds. Default `performance.now()`. */
  now?: () => number;
}

/**
 * A rate limit: `capacity` tokens at most, refilled at `refillPerSecond`, taken one request at
 * a time. Refills lazily from the clock; waiters are served in FIFO order by a single timer.
 *
 * @example
 * ```ts
 * const bucket = new TokenBucket({ capacity: 5, refillPerSecond: 2 });
 * await bucket.take();               // waits until a token is there
 * const r = bucket.tryTake();        // { ok: true, remaining } or { ok: false, retryAfterMs }
 * ```
 */
export class TokenBucket implements Observable {
  readonly #core: BucketCore;
  #events: EventHub | undefined;

  constructor(options: TokenBucketOptions) {
    this.#core = new BucketCore(bucketConfig(options));
  }

  /** Most tokens the bucket holds. */
  get capacity(): number {
    return this.#core.config.capacity;
  }

  /** Tokens added per second. */
  get refillPerSecond(): number {
    return this.#core.config.rate;
  }

  /**
   * Whole tokens in the bucket now, computed from the clock. While anyone waits they are
   * promised to the head waiter. Reading it changes nothing (it serves no waiter).
   */
  get tokens(): number {
    return this.#core.remaining(this.#core.peek());
  }

  /**
   * Number of `take` calls still pending. One whose tokens are already there counts until the
   * bucket's timer (or the next `take`/`tryTake`) serves it; reading this serves nobody.
   */
  get waiting(): number {
    return this.#core.waiting;
  }

  /** True once `close()` has run. */
  get closed(): boolean {
    return this.#core.closed;
  }

  /**
   * Take `tokens` now if they are there and nobody waits; never waits. `retryAfterMs` is how
   * long a request made now would wait, counting everybody queued ahead. Throws RangeError for
   * more than `capacity`, ClosedError once closed.
   */
  tryTake(tokens = 1): TryTakeResult {
    checkTryTake(this.#core.config.capacity, tokens);
    if (this.#core.closed) throw new ClosedError(undefined, 'Token bucket is closed');
    return this.#core.tryTake(tokens);
  }

  /**
   * Resolves once `tokens` have been taken, waiting in FIFO order for the refill. With a
   * `timeout` shorter than the wait the bucket can already compute, rejects at once with
   * TimeoutError (a wait that fits is never cut short). Rejects with `signal.reason` on abort,
   * RangeError for more than `capacity`, ClosedError once closed.
   */
  take(tokens = 1, options?: WaitOptions): Promise<void> {
    try {
      checkTake(this.#core.config.capacity, tokens, options);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#core.take(tokens, options?.signal, options?.timeout);
  }

  /** Rejects every waiter, then every later `take` and `tryTake`, with ClosedError (`cause`: reason). */
  close(reason?: unknown): void {
    this.#core.close(reason);
  }

  /**
   * Call `listener` with every event, in order, until the returned function is called
   * (idempotent): `acquired` (tokens taken; `waitedMs` for a `take` that waited), `queued` (a
   * `take` that waits), `rejected` (`rate_limited` for a refused `tryTake`; `queue_timeout`,
   * `aborted`, `closed` for a `take`). Tokens are not given back, so there is no `released`.
   * A listener that throws is reported (`reportError`, else `console.error`) and changes nothing.
   */
  subscribe(listener: LimiterListener): () => void {
    const config = this.#core.config;
    this.#events ??= new EventHub(config.now, false, (hub) => {
      config.events = hub;
    });
    return this.#events.subscribe(listener as LimiterListener<unknown>);
  }
}
