import { KeyedTokenBucket, type RateLimiter, type TryTakeResult } from '@sluice/core';
import {
  describeValue,
  type Rejection,
  rejection,
  rejectionReasonOf,
  resolveRateLimitSettings,
  tokenBucketHeaders,
} from '@sluice/core/http';
import type { Context, Env, MiddlewareHandler } from 'hono';
import { createMiddleware } from 'hono/factory';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import {
  type ConnInfoLike,
  connectionAddress,
  connInfoAddress,
  NO_ADDRESS_MESSAGE,
} from './internal/client-address.js';
import { clientGone, isThenable, setHeaders } from './internal/response.js';

type MaybePromise<T> = T | Promise<T>;

export type { ConnInfoLike };

export interface RateLimitOptions<
  E extends Env = any,
  L extends RateLimiter<string> = KeyedTokenBucket<string>,
> {
  /** Burst size: tokens in a full bucket, a positive integer. Required unless `limiter` is given. */
  capacity?: number;
  /** Tokens added back per second, a finite number > 0. Required unless `limiter` is given. */
  refillPerSecond?: number;
  /**
   * An existing KeyedTokenBucket to share between middlewares, or any `RateLimiter` (such as
   * one kept in a shared store, whose `tryTake` answers with a promise). Its capacity and rate
   * apply.
   */
  limiter?: L;
  /**
   * The client's key. Default: the connection's peer address, read from the runtime
   * (@hono/node-server, Bun, Deno; see `getConnInfo` for others). Never a raw X-Forwarded-For.
   */
  key?: (c: Context<E>) => MaybePromise<string>;
  /**
   * Your runtime's `getConnInfo` (`hono/cloudflare-workers`, `@hono/node-server/conninfo`,
   * `hono/bun`, `hono/deno`...), used for the default key instead of the built-in detection.
   */
  getConnInfo?: (c: Context<E>) => ConnInfoLike;
  /** Tokens this request costs, a positive integer no larger than `capacity`. Default 1. */
  cost?: (c: Context<E>) => MaybePromise<number>;
  /** Return true to let the request through untouched (no token taken, no headers). */
  skip?: (c: Context<E>) => MaybePromise<boolean>;
  /** Writes the refusal; default: `rejection.status` (429), `rejection.headers` and the JSON body. */
  onRejected?: (c: Context<E>, rejection: Rejection) => MaybePromise<Response>;
  /** Send `RateLimit-Policy` and `RateLimit` headers on every response. Default true. */
  headers?: boolean;
  /** Policy name in the RateLimit headers. Default 'rate-limit'. */
  name?: string;
}

/** The middleware, plus the RateLimiter it counts with (a KeyedTokenBucket unless you gave one). */
export type RateLimitMiddleware<L extends RateLimiter<string> = KeyedTokenBucket<string>> =
  MiddlewareHandler & { readonly limiter: L };

/**
 * Hono middleware that gives each client a token bucket of `capacity` tokens refilled at
 * `refillPerSecond`; a request takes one token or is refused with 429, `Retry-After`,
 * RateLimit headers and an `application/problem+json` body. The check and the take are one
 * synchronous step, so a burst cannot slip through between them.
 *
 * @example
 * ```ts
 * import { serve } from '@hono/node-server';
 * import { Hono } from 'hono';
 * import { rateLimit } from '@sluice/hono';
 *
 * const app = new Hono();
 * app.use('/api/*', rateLimit({ capacity: 5, refillPerSecond: 1 }));
 * app.get('/api/hello', (c) => c.text('hello'));
 * serve({ fetch: app.fetch, port: 3000 });
 * ```
 */
export function rateLimit<
  E extends Env = any,
  L extends RateLimiter<string> = KeyedTokenBucket<string>,
>(options: RateLimitOptions<E, L>): RateLimitMiddleware<L> {
  // Checks every option and applies the defaults shared by all sluice adapters.
  const settings = resolveRateLimitSettings(options);
  const { capacity, refillPerSecond, headers: withHeaders, name } = settings;
  const { key, getConnInfo, cost, skip, onRejected } = options;
  if (getConnInfo !== undefined && typeof getConnInfo !== 'function') {
    throw new TypeError(
      `Expected \`getConnInfo\` to be a function, got ${describeValue(getConnInfo)} (${typeof getConnInfo})`,
    );
  }
  const bucket: RateLimiter<string> =
    options.limiter ?? new KeyedTokenBucket<string>({ capacity, refillPerSecond });

  const clientKey = (c: Context<E>): string => {
    if (getConnInfo !== undefined) return connInfoAddress(getConnInfo as never, c);
    const address = connectionAddress(c);
    if (address === undefined) throw new TypeError(NO_ADDRESS_MESSAGE);
    return address;
  };

  // A limiter that cannot decide is the server's state, never the client's: 503 `closed` (a
  // closed bucket) or `unavailable` (a remote one's store). Anything else (a bad cost) is a bug.
  const failed = (c: Context<E>, error: unknown): MaybePromise<Response> => {
    const reason = rejectionReasonOf(error);
    if (reason !== 'closed' && reason !== 'unavailable') throw error;
    return refuse(c, rejection({ reason }));
  };

  // The headers depend on `remaining` alone (name, capacity and rate are fixed). A client well
  // under its limit finds its bucket full again at each request and reports the same value as
  // the last one (a full bucket less the cost), so the last record is reused, not rebuilt.
  let lastRemaining = Number.NaN;
  let lastHeaders: Record<string, string> = {};
  const admittedHeaders = (remaining: number): Record<string, string> => {
    if (remaining !== lastRemaining) {
      lastHeaders = tokenBucketHeaders(name, capacity, refillPerSecond, remaining);
      lastRemaining = remaining;
    }
    return lastHeaders;
  };

  const refuse = (c: Context<E>, answer: Rejection): MaybePromise<Response> => {
    if (onRejected !== undefined) return onRejected(c, answer);
    return c.body(
      JSON.stringify(answer.body),
      answer.status as ContentfulStatusCode,
      answer.headers,
    );
  };

  const middleware = createMiddleware(async function rateLimit(c, next) {
    const ctx = c as Context<E>;
    if (skip !== undefined) {
      const skipped = skip(ctx);
      if (isThenable(skipped) ? await skipped : skipped) return next();
    }
    let k: string;
    if (key === undefined) {
      k = clientKey(ctx);
    } else {
      const value = key(ctx);
      k = isThenable(value) ? await value : value;
    }
    let tokens = 1;
    if (cost !== undefined) {
      const value = cost(ctx);
      tokens = isThenable(value) ? await value : value;
    }

    let answer: TryTakeResult | Promise<TryTakeResult>;
    try {
      answer = bucket.tryTake(k, tokens);
    } catch (error) {
      return failed(ctx, error);
    }
    let taken: TryTakeResult;
    if (!isThenable(answer)) {
      taken = answer; // in process: decided already, nothing to await
    } else {
      // A remote limiter decides in its store, in one step. The request's signal is sticky
      // (aborted for good once the client leaves), so it tells whether anyone is still there.
      try {
        taken = await answer;
      } catch (error) {
        if (c.req.raw.signal.aborted) return clientGone(c);
        return failed(ctx, error);
      }
      if (c.req.raw.signal.aborted) return clientGone(c);
    }
    if (!taken.ok) {
      const headers = withHeaders
        ? tokenBucketHeaders(name, capacity, refillPerSecond, 0)
        : undefined;
      const answer = rejection({
        reason: 'rate_limited',
        retryAfterMs: taken.retryAfterMs,
        headers,
      });
      return refuse(ctx, answer);
    }
    // A degraded grant (the store was unavailable, the limiter admits anyway) knows no count:
    // no RateLimit headers rather than made-up ones.
    if (!withHeaders || taken.degraded === true) return next();
    // Shared between requests: read, never changed.
    const headers = admittedHeaders(taken.remaining);
    await next();
    setHeaders(c, headers);
  });
  return Object.assign(middleware, { limiter: bucket as L });
}
