import type { ExecutionContext, InjectionToken, ModuleMetadata, Type } from '@nestjs/common';
import type { KeyedLimiter, Limiter, RateLimiter } from '@sluice/core';
import type { ClassifyOutcome, Rejection } from '@sluice/core/http';

/**
 * The request object as the platform hands it to guards: Express `Request` or
 * `FastifyRequest`. Typed loosely so the package needs neither platform's types.
 */
export type SluiceRequest = Record<PropertyKey, any>;

/** What an admitted request carries as `req.sluice`. */
export interface SluiceRequestInfo {
  /** Aborts if the client goes away before the response is finished. */
  signal: AbortSignal;
  /** Milliseconds the request waited in the queue(s) before it was admitted. */
  waitedMs: number;
}

/** Returns a value, or a promise of it. */
type MaybePromise<T> = T | Promise<T>;

/** Options of one in-flight limit (a named limiter in `forRoot`, or `@Concurrency({...})`). */
export interface ConcurrencyOptions {
  /**
   * Most requests in flight: a number (a Semaphore is created), or an instance to share one
   * limit with other routes or services: a `Semaphore`, an `AdaptiveSemaphore` or any core
   * `Limiter` (a remote one too), or a `KeyedSemaphore` (any `KeyedLimiter`, with `key`).
   */
  limit: number | Limiter | KeyedLimiter<any>;
  /** Most requests waiting; default 100. Only with a number `limit` (an instance's own bounds its queue). */
  maxWaiting?: number;
  /** Longest wait in milliseconds; default 10_000. `0` never waits. */
  timeout?: number;
  /** A per-client limit: one `limit` per key (429 when exhausted). Required with a KeyedSemaphore. */
  key?: (req: SluiceRequest) => MaybePromise<unknown>;
  /** Permits a request takes; default 1. */
  weight?: (req: SluiceRequest) => MaybePromise<number>;
  /** True: this limiter lets the request through untouched. */
  skip?: (req: SluiceRequest) => MaybePromise<boolean>;
  /**
   * Answer a refusal yourself: throw an exception of your own (Nest's exception filters answer
   * it), or write the response and return (the guard then stops the request without writing).
   */
  onRejected?: (context: ExecutionContext, rejection: Rejection) => unknown;
  /**
   * With an adaptive limit (permits with `drop()` / `ignore()`), what the way a request ended
   * says about the server: `'success'`, `'drop'` (overload) or `'ignore'` (no sample). Default
   * `classifyOutcome`: client left -> ignore; status 503 or 504 (or a thrown `TimeoutError`,
   * which only `ConcurrencyInterceptor` sees) -> drop; else success.
   */
  classify?: ClassifyOutcome;
  /** Send RateLimit headers for this limit (quota = limit, remaining = free permits). Default false. */
  headers?: boolean;
  /** Policy name in RateLimit headers. Default: the limiter's name, or 'concurrency'. */
  name?: string;
  /** Retry-After seconds on queue_full, queue_timeout and closed. Default 1. */
  retryAfter?: number;
}

/** Options of one token-bucket rate limit (a named limiter in `forRoot`, or `@RateLimit({...})`). */
export interface RateLimitOptions {
  /** Burst: most tokens a client's bucket holds (a positive integer). Required unless `limiter` is given. */
  capacity?: number;
  /** Tokens added per second to every client's bucket (a finite number > 0). Required unless `limiter` is given. */
  refillPerSecond?: number;
  /**
   * An existing KeyedTokenBucket to share, or any `RateLimiter` (such as one kept in a shared
   * store, whose `tryTake` answers with a promise); its own capacity and rate then apply
   * (`capacity` and `refillPerSecond`, if given too, must equal them; `maxKeys` must be left out).
   */
  limiter?: RateLimiter<any>;
  /** Client key; default the client address as the platform resolves it (`req.ip`). */
  key?: (req: SluiceRequest) => MaybePromise<unknown>;
  /** Tokens a request costs; default 1. */
  cost?: (req: SluiceRequest) => MaybePromise<number>;
  /** True: this limit lets the request through untouched. */
  skip?: (req: SluiceRequest) => MaybePromise<boolean>;
  /** As for concurrency: throw your own exception, or write the response and return. */
  onRejected?: (context: ExecutionContext, rejection: Rejection) => unknown;
  /** RateLimit-Policy and RateLimit headers on every response. Default true. */
  headers?: boolean;
  /** Policy name in RateLimit headers. Default: the limiter's name, or 'rate-limit'. */
  name?: string;
  /** Most client buckets kept at once (see KeyedTokenBucket's `maxKeys`). */
  maxKeys?: number;
}

/** `SluiceModule.forRoot(options)`: named limiters; "default" covers every route the guard sees. */
export interface SluiceModuleOptions {
  concurrency?: Record<string, ConcurrencyOptions>;
  rateLimit?: Record<string, RateLimitOptions>;
}

/** A class that builds the module options (`forRootAsync({ useClass })`). */
export interface SluiceOptionsFactory {
  createSluiceOptions(): SluiceModuleOptions | Promise<SluiceModuleOptions>;
}

export interface SluiceModuleAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  useFactory?: (...args: any[]) => SluiceModuleOptions | Promise<SluiceModuleOptions>;
  inject?: Array<InjectionToken | { token: InjectionToken; optional: boolean }>;
  useClass?: Type<SluiceOptionsFactory>;
  useExisting?: Type<SluiceOptionsFactory>;
  /**
   * Limiter names to offer for `@InjectLimiter(name)`. Names used by `@InjectLimiter` in files
   * loaded before this call are offered anyway; list the others here.
   */
  limiterNames?: string[];
}

/** `@Concurrency(...)`: a named limiter, or options for a limit of the decorated target's own. */
export type ConcurrencyTarget = string | ConcurrencyOptions;

/** `@RateLimit(...)`: a named limiter, or options for a limit of the decorated target's own. */
export type RateLimitTarget = string | RateLimitOptions;

/** `@SkipConcurrency(...)` / `@SkipRateLimit(...)`: names, or `{ name: true | false }`. */
export type SkipTarget = string | Record<string, boolean>;
