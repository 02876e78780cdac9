import {
  type KeyedLimiter,
  KeyedSemaphore,
  type Limiter,
  type Permit,
  Semaphore,
} from '@sluice/core';
import {
  type ClassifyOutcome,
  concurrencyHeaders,
  isAdaptivePermit,
  type Rejection,
  rejection,
  rejectionReasonOf,
  resolveConcurrencySettings,
  returnUnused,
  settlePermit,
} from '@sluice/core/http';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { isThenable, setHeaders, writeRejection } from './internal/http.js';
import type { SluiceRequestState } from './types.js';

/** Answers a refused request; the default writes `rejection` as it is. */
export type RejectedHandler = (
  req: Request,
  res: Response,
  next: NextFunction,
  rejection: Rejection,
) => void | Promise<void>;

export interface ConcurrencyOptions {
  /**
   * Requests in flight at once. A number creates a Semaphore (a KeyedSemaphore when `key` is
   * given); a `Semaphore`, an `AdaptiveSemaphore` or any other core `Limiter` (a remote one
   * too) shares one limit across routes; a `KeyedSemaphore` (any `KeyedLimiter`) shares
   * per-client limits and needs `key`.
   */
  limit: number | Limiter | KeyedLimiter<string>;
  /** Per-client limit: requests with the same key share `limit`. Refusals become 429. */
  key?: (req: Request) => string | Promise<string>;
  /** Queue length when `limit` is a number (per key with `key`); not with an instance. Default 100. */
  maxWaiting?: number;
  /** Longest wait in the queue, in ms. Default 10_000. */
  timeout?: number;
  /** Permits this request takes. Default 1. */
  weight?: (req: Request) => number | Promise<number>;
  /** Return true to let the request through untouched. */
  skip?: (req: Request) => boolean | Promise<boolean>;
  /** Answer a refusal yourself. Default: status, headers and problem+json body of `rejection`. */
  onRejected?: RejectedHandler;
  /**
   * With an adaptive limit (permits with `drop()` / `ignore()`), what the way a request ended
   * says about the server: `'success'`, `'drop'` (overload) or `'ignore'` (no sample). Default
   * `classifyOutcome`: client left -> ignore; status 503 or 504 -> drop; else success. Express
   * shows a middleware the response, not the error: `outcome.error` is always undefined here.
   */
  classify?: ClassifyOutcome;
  /** Send `RateLimit-Policy` / `RateLimit` headers (concurrent-requests). Default false. */
  headers?: boolean;
  /** Policy name in the RateLimit headers. Default 'concurrency'. */
  name?: string;
  /** `Retry-After` seconds on a refusal. Default 1. */
  retryAfter?: number;
}

/** The middleware, plus the limiter it admits through (read its `stats()` for dashboards). */
export type ConcurrencyMiddleware = RequestHandler & {
  readonly limiter: Limiter | KeyedLimiter<string>;
};

function gauges(limiter: object): { capacity: number; available: number } | undefined {
  const { capacity, available } = limiter as { capacity?: unknown; available?: unknown };
  return typeof capacity === 'number' && typeof available === 'number'
    ? { capacity, available }
    : undefined;
}

/**
 * Tracks one request's response: one 'close' listener on `res` (never the socket, so a
 * keep-alive connection gathers nothing), aborting the signal when the client leaves first
 * and releasing the permit exactly once. The AbortController is made only when something
 * needs its signal (a wait in the queue, or the handler reading `req.sluice.signal`): creating
 * a signal costs more than the whole uncontended admission.
 */
class Ticket {
  permit: Permit | undefined = undefined;
  closed: boolean;
  /** The response closed before it finished: the client went away. */
  gone = false;
  private controller: AbortController | undefined = undefined;

  constructor(
    private readonly res: Response,
    private readonly classify: ClassifyOutcome | undefined,
  ) {
    this.closed = res.closed;
    if (!this.closed) res.on('close', this.onClose);
  }

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.gone) this.controller.abort();
    }
    return this.controller.signal;
  }

  private readonly onClose = (): void => {
    this.closed = true;
    // 'close' also follows a normal finish; only an unfinished response means the client left.
    if (!this.res.writableFinished) {
      this.gone = true;
      this.controller?.abort();
    }
    const permit = this.permit;
    if (permit === undefined) return;
    this.permit = undefined;
    // An adaptive limit learns from how the request ended; any other permit just returns.
    if (isAdaptivePermit(permit)) {
      settlePermit(permit, { status: this.res.statusCode, clientLeft: this.gone }, this.classify);
    } else {
      permit.release();
    }
  };
}

/** `req.sluice`: the signal is made on first read. */
class Admitted implements SluiceRequestState {
  constructor(
    private readonly ticket: Ticket,
    readonly waitedMs: number,
  ) {}

  get signal(): AbortSignal {
    return this.ticket.signal;
  }
}

/**
 * Limits how many requests are in flight. Requests beyond `limit` wait in a FIFO queue of at
 * most `maxWaiting` for at most `timeout` ms; the rest are refused at once with 503
 * (`queue_full`, `queue_timeout`, `closed`), or 429 for a per-client limit (`key`). The permit
 * returns when the response closes: finished, failed, or abandoned by the client.
 *
 * @example
 * ```ts
 * import express from 'express';
 * import { concurrency } from '@sluice/express';
 *
 * const app = express();
 * app.get('/report', concurrency({ limit: 4, maxWaiting: 8, timeout: 1000 }), async (req, res) => {
 *   const rows = await buildReport({ signal: req.sluice!.signal });
 *   res.json(rows);
 * });
 * app.listen(3000);
 * ```
 */
export function concurrency(options: ConcurrencyOptions): ConcurrencyMiddleware {
  // Checks every option and applies the defaults shared by all sluice adapters.
  const {
    limitKind,
    keyed: perClient,
    maxWaiting,
    timeout,
    headers,
    name,
    retryAfter,
  } = resolveConcurrencySettings(options);
  const { limit, key, weight, skip, onRejected, classify } = options;

  let shared: Limiter | undefined;
  let keyed: KeyedLimiter<string> | undefined;
  let quota: number | undefined; // the per-key limit, for headers
  if (limitKind === 'number') {
    quota = limit as number;
    if (perClient) keyed = new KeyedSemaphore<string>(quota, { maxWaiting });
    else shared = new Semaphore(quota, { maxWaiting });
  } else if (limitKind === 'keyed-limiter') {
    keyed = limit as KeyedLimiter<string>;
  } else {
    shared = limit as Limiter;
  }
  const limiter = (shared ?? keyed)!;
  const scope = keyed === undefined ? 'shared' : 'client';
  const retryAfterMs = retryAfter * 1000;

  // Capacity and free permits for the headers: the shared limiter's, or this key's.
  function gaugesFor(k: string | undefined): { capacity: number; available: number } | undefined {
    if (keyed === undefined) return gauges(shared!);
    const { stats } = keyed as Partial<Pick<KeyedSemaphore<string>, 'stats'>>;
    return k !== undefined && typeof stats === 'function' ? stats.call(keyed, k) : undefined;
  }

  function refuse(
    req: Request,
    res: Response,
    next: NextFunction,
    error: unknown,
    k: string | undefined,
  ): void {
    const reason = rejectionReasonOf(error);
    if (reason === undefined) {
      next(error);
      return;
    }
    let extra: Record<string, string> | undefined;
    if (headers) {
      const capacity = gaugesFor(k)?.capacity ?? quota;
      if (capacity !== undefined) extra = concurrencyHeaders(name, capacity, 0, retryAfter);
    }
    const answer = rejection({ reason, scope, retryAfterMs, headers: extra });
    if (onRejected === undefined) {
      writeRejection(res, answer);
      return;
    }
    try {
      const done = onRejected(req, res, next, answer);
      if (isThenable(done)) done.then(undefined, next);
    } catch (failure) {
      next(failure);
    }
  }

  // Admitted: hold the permit until the response closes, then hand over to the route.
  function admitted(
    req: Request,
    res: Response,
    next: NextFunction,
    ticket: Ticket,
    permit: Permit,
    k: string | undefined,
    waitedMs: number,
  ): void {
    if (ticket.closed) {
      returnUnused(permit); // granted as the client left: pass it on at once, write nothing
      return;
    }
    ticket.permit = permit;
    req.sluice = new Admitted(ticket, waitedMs);
    if (headers) {
      const g = gaugesFor(k);
      if (g !== undefined) {
        setHeaders(res, concurrencyHeaders(name, g.capacity, g.available, retryAfter));
      }
    }
    next();
  }

  // Key and weight are in hand: take a permit now, or queue. No await between deciding and
  // counting: tryAcquire and acquire both decide synchronously (tryAcquire fails while anyone
  // waits, so trying first keeps FIFO). A remote limiter has no tryAcquire: it decides in its
  // store, and the 'close' listener is on before its acquire is even sent.
  function decide(
    req: Request,
    res: Response,
    next: NextFunction,
    existing: Ticket | undefined,
    k: string | undefined,
    w: number,
  ): void {
    if (existing?.closed) return; // the client left while we worked out the key
    let permit: Permit | undefined;
    try {
      permit = keyed !== undefined ? keyed.tryAcquire?.(k!, w) : shared!.tryAcquire?.(w);
    } catch (error) {
      next(error);
      return;
    }
    const ticket = existing ?? new Ticket(res, classify);
    if (permit !== undefined) {
      admitted(req, res, next, ticket, permit, k, 0);
      return;
    }
    const signal = ticket.signal;
    const started = performance.now();
    const waiting =
      keyed !== undefined
        ? keyed.acquire(k!, { signal, timeout, weight: w })
        : shared!.acquire({ signal, timeout, weight: w });
    waiting.then(
      (granted) => admitted(req, res, next, ticket, granted, k, performance.now() - started),
      (error: unknown) => {
        // A client that left while queued gets nothing written: nobody is there to read it.
        if (signal.aborted) return;
        refuse(req, res, next, error, k);
      },
    );
  }

  async function resolveLater(
    req: Request,
    res: Response,
    next: NextFunction,
    ticket: Ticket,
    k: string | PromiseLike<string> | undefined,
    w: number | PromiseLike<number>,
  ): Promise<void> {
    const key = await k;
    const weight = await w;
    decide(req, res, next, ticket, key, weight);
  }

  function enter(req: Request, res: Response, next: NextFunction, ticket: Ticket | undefined) {
    let k: string | PromiseLike<string> | undefined;
    let w: number | PromiseLike<number> = 1;
    try {
      if (keyed !== undefined) k = key!(req);
      if (weight !== undefined) w = weight(req);
    } catch (error) {
      next(error);
      return;
    }
    if (isThenable(k) || isThenable(w)) {
      // Watch the response before the first await so a client leaving meanwhile is seen.
      resolveLater(req, res, next, ticket ?? new Ticket(res, classify), k, w).then(undefined, next);
    } else {
      decide(req, res, next, ticket, k, w);
    }
  }

  function sluiceConcurrency(req: Request, res: Response, next: NextFunction): void {
    if (res.closed) return; // the client is already gone
    if (skip === undefined) {
      enter(req, res, next, undefined);
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
      else enter(req, res, next, undefined);
      return;
    }
    const ticket = new Ticket(res, classify);
    skipped.then((yes) => {
      if (yes) next();
      else if (!ticket.closed) enter(req, res, next, ticket);
    }, next);
  }
  Object.defineProperty(sluiceConcurrency, 'limiter', { value: limiter, enumerable: true });
  return sluiceConcurrency as ConcurrencyMiddleware;
}
