import { KeyedTokenBucket } from '@sluice/core';
import {
  type Rejection,
  rejection,
  rejectionReasonOf,
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
import { ensureHeaders, isThenable, prepareHeaders } from './internal/response.js';
import {
  assertOptionalBoolean,
  assertOptionalFunction,
  assertOptionsObject,
  assertPolicyName,
  assertPositiveFinite,
  assertPositiveInteger,
  describe,
} from './internal/validate.js';

type MaybePromise<T> = T | Promise<T>;

export type { ConnInfoLike };

export interface RateLimitOptions<E extends Env = any> {
  /** Burst size: tokens in a full bucket, a positive integer. Required unless `limiter` is given. */
  capacity?: number;
  /** Tokens added back per second, a finite number > 0. Required unless `limiter` is given. */
  refillPerSecond?: number;
  /** An existing KeyedTokenBucket to share between middlewares (its capacity and rate apply). */
  limiter?: KeyedTokenBucket<string>;
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

/** The middleware, plus the KeyedTokenBucket it counts with. */
export type RateLimitMiddleware = MiddlewareHandler & {
  readonly limiter: KeyedTokenBucket<string>;
};

const WHERE = 'rateLimit()';

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
export function rateLimit<E extends Env = any>(options: RateLimitOptions<E>): RateLimitMiddleware {
  assertOptionsObject(WHERE, options);
  const { key, getConnInfo, cost, skip, onRejected } = options;
  const bucket = resolveBucket(options);
  assertOptionalFunction(WHERE, 'key', key);
  assertOptionalFunction(WHERE, 'getConnInfo', getConnInfo);
  assertOptionalFunction(WHERE, 'cost', cost);
  assertOptionalFunction(WHERE, 'skip', skip);
  assertOptionalFunction(WHERE, 'onRejected', onRejected);
  assertOptionalBoolean(WHERE, 'headers', options.headers);
  const withHeaders = options.headers ?? true;
  const name = options.name ?? 'rate-limit';
  assertPolicyName(WHERE, 'name', name);
  const { capacity, refillPerSecond } = bucket;

  const clientKey = (c: Context<E>): string => {
    if (getConnInfo !== undefined) return connInfoAddress(getConnInfo as never, c);
    const address = connectionAddress(c);
    if (address === undefined) throw new TypeError(NO_ADDRESS_MESSAGE);
    return address;
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

    let taken: ReturnType<KeyedTokenBucket<string>['tryTake']>;
    try {
      taken = bucket.tryTake(k, tokens);
    } catch (error) {
      // A closed bucket refuses like a closed semaphore (503 `closed`); bad costs are bugs.
      if (rejectionReasonOf(error) !== 'closed') throw error;
      return refuse(ctx, rejection({ reason: 'closed' }));
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
    if (!withHeaders) return next();
    const headers = tokenBucketHeaders(name, capacity, refillPerSecond, taken.remaining);
    prepareHeaders(c, headers);
    await next();
    ensureHeaders(c, headers, 'RateLimit');
  });
  return Object.assign(middleware, { limiter: bucket });
}

function resolveBucket(options: RateLimitOptions): KeyedTokenBucket<string> {
  const { limiter, capacity, refillPerSecond } = options;
  if (limiter !== undefined) {
    if (!(limiter instanceof KeyedTokenBucket) && typeof (limiter as any)?.tryTake !== 'function') {
      throw new TypeError(
        `${WHERE}: expected \`limiter\` to be a KeyedTokenBucket, got ${describe(limiter)}`,
      );
    }
    for (const [option, value, own] of [
      ['capacity', capacity, limiter.capacity],
      ['refillPerSecond', refillPerSecond, limiter.refillPerSecond],
    ] as const) {
      if (value !== undefined && value !== own) {
        throw new TypeError(
          `${WHERE}: \`${option}\` (${describe(value)}) differs from the \`limiter\`'s (${own}); pass one or the other`,
        );
      }
    }
    return limiter;
  }
  if (capacity === undefined || refillPerSecond === undefined) {
    throw new TypeError(
      `${WHERE}: \`capacity\` and \`refillPerSecond\` are required (or pass a KeyedTokenBucket as \`limiter\`), got capacity ${describe(capacity)} and refillPerSecond ${describe(refillPerSecond)}`,
    );
  }
  assertPositiveInteger(WHERE, 'capacity', capacity);
  assertPositiveFinite(WHERE, 'refillPerSecond', refillPerSecond);
  return new KeyedTokenBucket<string>({ capacity, refillPerSecond });
}
