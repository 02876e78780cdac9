import { KeyedTokenBucket, type RateLimiter, type TryTakeResult } from '@sluice/core';
import {
  rejection,
  rejectionReasonOf,
  resolveRateLimitSettings,
  tokenBucketHeaders,
} from '@sluice/core/http';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { RejectedHandler } from './concurrency.js';
import { isThenable, setHeaders, writeRejection } from './internal/http.js';

export interface RateLimitOptions<L extends RateLimiter<string> = KeyedTokenBucket<string>> {
  /**
   * Burst: requests a client may make at once, and the most its bucket holds (a positive
   * integer). Required unless `limiter` is given.
   */
  capacity?: number;
  /** Tokens (requests) added to each client's bucket per second. Required unless `limiter` is given. */
  refillPerSecond?: number;
  /**
   * The client's identity. Default `req.ip`: the address Express resolves through the app's
   * `trust proxy` setting (never a raw X-Forwarded-For).
   */
  key?: (req: Request) => string | Promise<string>;
  /** Tokens this request takes. Default 1. */
  cost?: (req: Request) => number | Promise<number>;
  /** Return true to let the request through untouched (and uncounted). */
  skip?: (req: Request) => boolean | Promise<boolean>;
  /** Answer a refusal yourself. Default: status, headers and problem+json body of `rejection`. */
  onRejected?: RejectedHandler;
  /** Send `RateLimit-Policy` / `RateLimit` headers on every counted response. Default true. */
  headers?: boolean;
  /** Policy name in the RateLimit headers. Default 'rate-limit'. */
  name?: string;
  /**
   * An existing KeyedTokenBucket to share between middlewares (one budget for several routes),
   * or any `RateLimiter`, such as one kept in a shared store whose `tryTake` answers with a
   * promise. Its capacity and refill rate apply; `capacity` and `refillPerSecond`, if given
   * too, must equal them.
   */
  limiter?: L;
}

/** The middleware, plus the RateLimiter it counts with (a KeyedTokenBucket unless you gave one). */
export type RateLimitMiddleware<L extends RateLimiter<string> = KeyedTokenBucket<string>> =
  RequestHandler & { readonly limiter: L };

// A connection whose address is no longer known (its socket already closed) shares one bucket
// with its kind rather than bypassing the limit.
const UNKNOWN = 'unknown';

function clientAddress(req: Request): string {
  return req.ip ?? req.socket.remoteAddress ?? UNKNOWN;
}

/**
 * A token bucket per client: each request takes a token; a client with none left gets 429
 * `rate_limited` with `Retry-After` (when a token will be back) and RateLimit headers. The
 * check and the take are one synchronous step, so a flood cannot slip through between them.
 *
 * @example
 * ```ts
 * import express from 'express';
 * import { rateLimit } from '@sluice/express';
 *
 * const app = express();
 * app.set('trust proxy', 'loopback'); // only if a proxy on this host sets X-Forwarded-For
 * app.use('/api', rateLimit({ capacity: 5, refillPerSecond: 1 }));
 * app.get('/api/hello', (req, res) => res.json({ hello: 'world' }));
 * app.listen(3000);
 * ```
 */
export function rateLimit<L extends RateLimiter<string> = KeyedTokenBucket<string>>(
  options: RateLimitOptions<L>,
): RateLimitMiddleware<L> {
  // Checks every option and applies the defaults shared by all sluice adapters.
  const { capacity, refillPerSecond, headers, name } = resolveRateLimitSettings(options);
  const { skip, onRejected, cost } = options;
  const key = options.key ?? clientAddress;
  const bucket: RateLimiter<string> =
    options.limiter ?? new KeyedTokenBucket<string>({ capacity, refillPerSecond });

  // A limiter that cannot decide (closed; a remote one whose store is unavailable) is the
  // server's state: 503 `closed` / `unavailable`, never 429. Anything else is a bug: next(err).
  function failed(req: Request, res: Response, next: NextFunction, error: unknown): void {
    const reason = rejectionReasonOf(error);
    if (reason === undefined) next(error);
    else answer(req, res, next, rejection({ reason, scope: 'client' }));
  }

  function decide(req: Request, res: Response, next: NextFunction, k: string, n: number): void {
    let result: TryTakeResult | Promise<TryTakeResult>;
    try {
      result = bucket.tryTake(k, n);
    } catch (error) {
      failed(req, res, next, error);
      return;
    }
    // In process (KeyedTokenBucket) the answer is here already: no promise, no extra tick.
    if (!isThenable(result)) {
      decided(req, res, next, result);
      return;
    }
    // A remote limiter took (or refused) the tokens in its store, in one step. `res.closed` is
    // sticky, so it tells whether the client left while we waited: nothing needs listening to.
    result
      .then(
        (late) => {
          if (!res.closed) decided(req, res, next, late);
        },
        (error: unknown) => {
          // A refusal is not written to a client that left; a bug still reaches the error path.
          if (!res.closed || rejectionReasonOf(error) === undefined) failed(req, res, next, error);
        },
      )
      .then(undefined, next);
  }

  function decided(req: Request, res: Response, next: NextFunction, result: TryTakeResult): void {
    if (result.ok) {
      // A degraded grant (the store was unavailable and the limiter admits anyway) knows no
      // count: no RateLimit headers rather than made-up ones.
      if (headers && result.degraded !== true) {
        setHeaders(res, tokenBucketHeaders(name, capacity, refillPerSecond, result.remaining));
      }
      next();
      return;
    }
    const extra = headers ? tokenBucketHeaders(name, capacity, refillPerSecond, 0) : undefined;
    answer(
      req,
      res,
      next,
      rejection({ reason: 'rate_limited', retryAfterMs: result.retryAfterMs, headers: extra }),
    );
  }

  function answer(
    req: Request,
    res: Response,
    next: NextFunction,
    refusal: ReturnType<typeof rejection>,
  ): void {
    if (onRejected === undefined) {
      writeRejection(res, refusal);
      return;
    }
    try {
      const done = onRejected(req, res, next, refusal);
      if (isThenable(done)) done.then(undefined, next);
    } catch (failure) {
      next(failure);
    }
  }

  async function slow(
    req: Request,
    res: Response,
    next: NextFunction,
    k: string | PromiseLike<string>,
    n: number | PromiseLike<number>,
  ): Promise<void> {
    const resolvedKey = await k;
    const tokens = await n;
    // Everything awaited is in hand: check and take in one synchronous step.
    decide(req, res, next, resolvedKey, tokens);
  }

  function counted(req: Request, res: Response, next: NextFunction): void {
    let k: string | PromiseLike<string>;
    let n: number | PromiseLike<number>;
    try {
      k = key(req);
      n = cost === undefined ? 1 : cost(req);
    } catch (error) {
      next(error);
      return;
    }
    if (isThenable(k) || isThenable(n)) slow(req, res, next, k, n).then(undefined, next);
    else decide(req, res, next, k, n);
  }

  function sluiceRateLimit(req: Request, res: Response, next: NextFunction): void {
    if (skip === undefined) {
      counted(req, res, next);
      return;
    }
    let skipped: boolean | PromiseLike<boolean>;
    try {
      skipped = skip(req);
    } catch (error) {
      next(error);
      return;
    }
    if (!isThenable(skipped)) {
      if (skipped) next();
      else counted(req, res, next);
      return;
    }
    skipped.then((yes) => {
      if (yes) next();
      else counted(req, res, next);
    }, next);
  }
  Object.defineProperty(sluiceRateLimit, 'limiter', { value: bucket, enumerable: true });
  return sluiceRateLimit as RateLimitMiddleware<L>;
}
