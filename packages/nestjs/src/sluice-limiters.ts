import type { OnApplicationShutdown } from '@nestjs/common';
import type { KeyedLimiter, Limiter, RateLimiter } from '@sluice/core';
import { assertOptionsObject, assertPolicyName } from '@sluice/core/http';
import {
  createConcurrencyPolicy,
  createRateLimitPolicy,
  type ResolvedConcurrency,
  type ResolvedRateLimit,
} from './internal/policies.js';
import { DEFAULT_LIMITER } from './sluice.constants.js';
import type {
  ConcurrencyOptions,
  RateLimitOptions,
  SluiceModuleOptions,
} from './sluice.interfaces.js';

/**
 * The limiters of a `SluiceModule`: the named ones from its options, and the ones of
 * `@Concurrency({...})` / `@RateLimit({...})` targets, made on first use and shared by every
 * guard instance. Inject it to reach a limiter by name at run time.
 *
 * @example
 * constructor(@Inject(SluiceLimiters) limiters: SluiceLimiters) {
 *   this.reports = limiters.concurrency('reports') as Semaphore;
 * }
 */
export class SluiceLimiters implements OnApplicationShutdown {
  readonly #concurrency = new Map<string, ResolvedConcurrency>();
  readonly #rateLimit = new Map<string, ResolvedRateLimit>();
  readonly #ownConcurrency = new WeakMap<ConcurrencyOptions, ResolvedConcurrency>();
  readonly #ownRateLimit = new WeakMap<RateLimitOptions, ResolvedRateLimit>();
  /** Semaphores made here from a number, closed on shutdown. */
  readonly #owned: Array<{ close(reason?: unknown): void }> = [];

  constructor(options: SluiceModuleOptions = {}) {
    assertOptionsObject('options', options);
    if (options.concurrency !== undefined) {
      assertOptionsObject('options.concurrency', options.concurrency);
      for (const [name, opts] of Object.entries(options.concurrency)) {
        assertPolicyName(`options.concurrency key ${JSON.stringify(name)}`, name);
        const policy = createConcurrencyPolicy(
          `options.concurrency.${name}`,
          opts,
          name === DEFAULT_LIMITER ? undefined : name,
        );
        this.#concurrency.set(name, this.#own(policy));
      }
    }
    if (options.rateLimit !== undefined) {
      assertOptionsObject('options.rateLimit', options.rateLimit);
      for (const [name, opts] of Object.entries(options.rateLimit)) {
        assertPolicyName(`options.rateLimit key ${JSON.stringify(name)}`, name);
        const policy = createRateLimitPolicy(
          `options.rateLimit.${name}`,
          opts,
          name === DEFAULT_LIMITER ? undefined : name,
        );
        this.#rateLimit.set(name, this.#own(policy));
      }
    }
  }

  /** Names of the configured concurrency limiters. */
  get concurrencyNames(): string[] {
    return [...this.#concurrency.keys()];
  }

  /** Names of the configured rate limits. */
  get rateLimitNames(): string[] {
    return [...this.#rateLimit.keys()];
  }

  /**
   * The limiter of the named concurrency limit: a `Semaphore` (a `KeyedSemaphore` with `key`,
   * or the instance given as `limit`). Throws if there is none of that name.
   */
  concurrency(name: string): Limiter | KeyedLimiter<unknown> {
    return this.concurrencyPolicy(name).limiter;
  }

  /**
   * The per-client token buckets of the named rate limit: a `KeyedTokenBucket`, or the
   * `RateLimiter` given as `limiter`. Throws if there is none of that name.
   */
  rateLimit(name: string): RateLimiter<unknown> {
    return this.rateLimitPolicy(name).bucket;
  }

  /** @internal */
  hasConcurrency(name: string): boolean {
    return this.#concurrency.has(name);
  }

  /** @internal */
  hasRateLimit(name: string): boolean {
    return this.#rateLimit.has(name);
  }

  /** @internal */
  concurrencyPolicy(name: string): ResolvedConcurrency {
    const policy = this.#concurrency.get(name);
    if (policy === undefined) {
      throw new Error(
        `No concurrency limiter named ${JSON.stringify(name)}: add it to SluiceModule.forRoot({ concurrency: { ${name}: {...} } })`,
      );
    }
    return policy;
  }

  /** @internal */
  rateLimitPolicy(name: string): ResolvedRateLimit {
    const policy = this.#rateLimit.get(name);
    if (policy === undefined) {
      throw new Error(
        `No rate limit named ${JSON.stringify(name)}: add it to SluiceModule.forRoot({ rateLimit: { ${name}: {...} } })`,
      );
    }
    return policy;
  }

  /** @internal The limiter of a `@Concurrency({...})` target: one per options object. */
  ownConcurrencyPolicy(options: ConcurrencyOptions): ResolvedConcurrency {
    let policy = this.#ownConcurrency.get(options);
    if (policy === undefined) {
      policy = this.#own(createConcurrencyPolicy('@Concurrency()', options));
      this.#ownConcurrency.set(options, policy);
    }
    return policy;
  }

  /** @internal The buckets of a `@RateLimit({...})` target: one set per options object. */
  ownRateLimitPolicy(options: RateLimitOptions): ResolvedRateLimit {
    let policy = this.#ownRateLimit.get(options);
    if (policy === undefined) {
      policy = this.#own(createRateLimitPolicy('@RateLimit()', options));
      this.#ownRateLimit.set(options, policy);
    }
    return policy;
  }

  /** Closes the semaphores this module made: requests still queued are refused (503 `closed`). */
  onApplicationShutdown(reason?: string): void {
    for (const limiter of this.#owned.splice(0)) limiter.close(reason ?? 'application shutdown');
  }

  #own<P extends ResolvedConcurrency | ResolvedRateLimit>(policy: P): P {
    // Buckets are only ever tried, never waited on: closing them would refuse nothing.
    if (policy.owned && !('bucket' in policy)) {
      this.#owned.push(policy.limiter as unknown as { close(reason?: unknown): void });
    }
    return policy;
  }
}
