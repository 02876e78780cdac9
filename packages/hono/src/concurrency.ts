import type { KeyedLimiter, Limiter, Permit } from '@sluice/core';
import {
  type ClassifyOutcome,
  concurrencyHeaders,
  isAdaptivePermit,
  type Rejection,
  type RejectionReason,
  rejection,
  rejectionReasonOf,
  resolveConcurrencySettings,
  returnUnused,
  settlePermit,
} from '@sluice/core/http';
import type { Context, Env, MiddlewareHandler } from 'hono';
import { createMiddleware } from 'hono/factory';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { makeGate } from './internal/gate.js';
import {
  callWhenSent,
  clientGone,
  isThenable,
  overOnReturn,
  setHeaders,
} from './internal/response.js';

type MaybePromise<T> = T | Promise<T>;

/** What an admitted request carries, at `c.var.sluice`. */
export interface SluiceRequestState {
  /** Aborts when the client goes away while the request is in flight. */
  readonly signal: AbortSignal;
  /** Milliseconds spent queued before admission (0 when admitted at once). */
  readonly waitedMs: number;
}

/** The Hono `Env` that `concurrency()` adds: `c.var.sluice` is typed in later handlers. */
export type ConcurrencyEnv = { Variables: { sluice: SluiceRequestState } };

/** The middleware, plus the limiter it admits through (read its `stats()` for dashboards). */
export type ConcurrencyMiddleware = MiddlewareHandler<ConcurrencyEnv> & {
  readonly limiter: Limiter | KeyedLimiter<string>;
};

export interface ConcurrencyOptions<E extends Env = any> {
  /**
   * Requests in flight at once: an integer >= 0 (a Semaphore is created, or a KeyedSemaphore
   * when `key` is given), or an instance to share one limit across routes: a `Semaphore`, an
   * `AdaptiveSemaphore` or any core `Limiter` (a remote one too), or a `KeyedSemaphore` (any
   * `KeyedLimiter`, which needs `key`). Required.
   */
  limit: number | Limiter | KeyedLimiter<string>;
  /**
   * Requests queued at once (per key with `key`); past it a request is refused at once with
   * `queue_full`. `0` never queues. Default 100. Only with a number `limit`: an instance's own
   * `maxWaiting` bounds its queue.
   */
  maxWaiting?: number;
  /** Longest wait in the queue, in ms; past it the request is refused with `queue_timeout`. Default 10_000. */
  timeout?: number;
  /** A per-client limit: requests with the same key share `limit`. Refusals are then 429. */
  key?: (c: Context<E>) => MaybePromise<string>;
  /** Permits this request takes, a positive integer no larger than the limit. Default 1. */
  weight?: (c: Context<E>) => MaybePromise<number>;
  /** Return true to let the request through untouched. */
  skip?: (c: Context<E>) => MaybePromise<boolean>;
  /** Writes the refusal; default: `rejection.status`, `rejection.headers` and the JSON body. */
  onRejected?: (c: Context<E>, rejection: Rejection) => MaybePromise<Response>;
  /**
   * With an adaptive limit (permits with `drop()` / `ignore()`), what the way a request ended
   * says about the server: `'success'`, `'drop'` (overload) or `'ignore'` (no sample). Default
   * `classifyOutcome`: client left -> ignore; a thrown `TimeoutError`, or status 503 or 504 ->
   * drop; else success. `outcome.error` is what the handler threw (Hono's `c.error`).
   */
  classify?: ClassifyOutcome;
  /** Send `RateLimit-Policy` and `RateLimit` headers on admitted and refused responses. Default false. */
  headers?: boolean;
  /** Policy name in the RateLimit headers. Default 'concurrency'. */
  name?: string;
  /** Seconds sent in `Retry-After` on a refusal. Default 1. */
  retryAfter?: number;
}

/**
 * Hono middleware that keeps at most `limit` requests in flight and queues the next ones
 * (FIFO, bounded by `maxWaiting` and `timeout`). A refused request gets 503 (429 for a per-client
 * `key` limit) with `Retry-After` and an `application/problem+json` body.
 *
 * The permit is held until the response is over: for `stream()` / `streamSSE()` until the body
 * ends or the client cancels it, not merely until `next()` returns. A client that disconnects
 * while queued leaves the queue at once and its handler never runs.
 *
 * @example
 * ```ts
 * import { Hono } from 'hono';
 * import { concurrency } from '@sluice/hono';
 *
 * const app = new Hono();
 * app.get('/report', concurrency({ limit: 4, maxWaiting: 8, timeout: 1000 }), async (c) => {
 *   const { signal, waitedMs } = c.var.sluice;
 *   return c.json({ waitedMs, report: await buildReport({ signal }) });
 * });
 * ```
 */
export function concurrency<E extends Env = any>(
  options: ConcurrencyOptions<E>,
): ConcurrencyMiddleware {
  // Checks every option and applies the defaults shared by all sluice adapters.
  const settings = resolveConcurrencySettings(options);
  const { timeout, retryAfter, headers: withHeaders, name } = settings;
  const { key, weight, skip, onRejected, classify } = options;
  const gate = makeGate(options.limit, settings);
  const retryAfterMs = retryAfter * 1000;

  const gaugeHeaders = (k: string): Record<string, string> | undefined => {
    const gauges = gate.gauges(k);
    return gauges && concurrencyHeaders(name, gauges.capacity, gauges.available, retryAfter);
  };

  const refuse = (c: Context, reason: RejectionReason, k: string): MaybePromise<Response> => {
    const answer = rejection({
      reason,
      scope: gate.scope,
      retryAfterMs,
      headers: withHeaders ? gaugeHeaders(k) : undefined,
    });
    if (onRejected !== undefined) return onRejected(c as Context<E>, answer);
    return c.body(
      JSON.stringify(answer.body),
      answer.status as ContentfulStatusCode,
      answer.headers,
    );
  };

  const middleware = createMiddleware<ConcurrencyEnv>(async function concurrency(c, next) {
    const ctx = c as unknown as Context<E>;
    if (skip !== undefined) {
      const skipped = skip(ctx);
      if (isThenable(skipped) ? await skipped : skipped) return next();
    }
    let k = '';
    if (key !== undefined) {
      const value = key(ctx);
      k = isThenable(value) ? await value : value;
    }
    let w = 1;
    if (weight !== undefined) {
      const value = weight(ctx);
      w = isThenable(value) ? await value : value;
    }

    // Synchronous check-and-take first; `tryAcquire` fails while anyone waits, so this keeps FIFO.
    let permit: Permit | undefined = gate.tryAcquire(k, w);
    let waitedMs = 0;
    if (permit === undefined) {
      // The request's own signal aborts when the client disconnects (on @hono/node-server, Bun
      // and Deno): the waiter then leaves the queue at once. An abort is sticky, so a client
      // that left during an `await` above is seen here too.
      const signal = c.req.raw.signal;
      const start = performance.now();
      try {
        permit = await gate.acquire(k, w, timeout, signal);
      } catch (error) {
        // A client that left gets nothing written, whatever the limiter answered meanwhile.
        if (signal.aborted) return clientGone(c);
        const reason = rejectionReasonOf(error);
        if (reason !== undefined) return refuse(c, reason, k);
        throw error;
      }
      waitedMs = performance.now() - start;
      // Granted in the same turn as the client left (or, from a remote limiter that does not
      // watch the signal, after it left): the handler must not run, and nothing is written.
      if (signal.aborted) {
        returnUnused(permit);
        return clientGone(c);
      }
    }

    const held = permit;
    const admitted = withHeaders ? gaugeHeaders(k) : undefined;
    c.set('sluice', new RequestAdmission(c.req.raw, waitedMs));
    try {
      await next();
    } catch (error) {
      // Only when there is no `onError` (or it threw): Hono's compose catches handler errors,
      // sets `c.error` and `c.res` from `onError`, and `next()` resolves.
      settle(held, c, error, false, classify);
      throw error;
    }
    if (admitted !== undefined) setHeaders(c, admitted);
    // Nothing left to wait for: no callback to allocate either.
    if (overOnReturn(c)) settle(held, c, undefined, undefined, classify);
    else settleWhenSent(held, c, classify);
  });
  return Object.assign(middleware, { limiter: gate.limiter });
}

/**
 * Gives the permit back; an adaptive limit learns from how the request ended. `thrown` is what
 * `next()` rejected with; `clientLeft` undefined lets the request's signal tell (on
 * @hono/node-server it aborts, for good, when the response closed before it finished).
 */
function settle(
  permit: Permit,
  c: Context,
  thrown: unknown,
  clientLeft: boolean | undefined,
  classify: ClassifyOutcome | undefined,
): void {
  if (!isAdaptivePermit(permit)) {
    permit.release();
    return;
  }
  settlePermit(
    permit,
    {
      status: thrown === undefined ? c.res.status : 500,
      error: thrown ?? c.error,
      clientLeft: clientLeft ?? c.req.raw.signal.aborted,
    },
    classify,
  );
}

/**
 * `settle` once the response is over, exactly once however many ends fire. Out of the
 * middleware, so that its closure (and the scope it keeps) is made only for responses that
 * need watching.
 */
function settleWhenSent(permit: Permit, c: Context, classify: ClassifyOutcome | undefined): void {
  let released = false;
  // Called with nothing by Node's 'close', with whether the client left by a body stream.
  callWhenSent(c, (clientLeft) => {
    if (released) return;
    released = true;
    settle(permit, c, undefined, clientLeft, classify);
  });
}

// `signal` is read lazily: on @hono/node-server it creates an AbortController per request.
class RequestAdmission implements SluiceRequestState {
  readonly #request: Request;
  readonly waitedMs: number;

  constructor(request: Request, waitedMs: number) {
    this.#request = request;
    this.waitedMs = waitedMs;
  }

  get signal(): AbortSignal {
    return this.#request.signal;
  }
}
