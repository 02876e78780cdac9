import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { TryTakeResult } from '@sluice/core';
import { type Rejection, rejection, rejectionReasonOf } from '@sluice/core/http';
import {
  clientAddress,
  httpRequest,
  httpResponse,
  isClosed,
  mergeHeaders,
  rawResponse,
  setHeaders,
} from './internal/http.js';
import { type ResolvedRateLimit, rateLimitHeaderValues } from './internal/policies.js';
import { answerRejection, ClientClosedRequestException } from './internal/reject.js';
import { PolicyCache, rateLimitPolicies } from './internal/resolve.js';
import { seenByRateLimit } from './internal/seen.js';
import type { SluiceRequest } from './sluice.interfaces.js';
import { SluiceLimiters } from './sluice-limiters.js';
import { SluiceRejectedException } from './sluice-rejected.exception.js';

/**
 * Per-client token buckets from `@RateLimit` and `SluiceModule`: a request takes a token of
 * every limit that applies, or gets 429 with `Retry-After` (RateLimit headers on every answer,
 * unless `headers: false`). The check and the take are one synchronous `tryTake`; a remote
 * `RateLimiter` answers it with a promise (one step in its store), which is awaited: a client
 * that left meanwhile gets nothing written; `UnavailableError` is 503 `unavailable`. Use it with
 * `@UseGuards(RateLimitGuard)` or as `APP_GUARD`; a request that meets it twice is counted once.
 *
 * Subclass it to change `getKey`, `shouldSkip` or `onRejected`.
 *
 * @example
 * providers: [{ provide: APP_GUARD, useClass: RateLimitGuard }]
 */
@Injectable()
export class RateLimitGuard implements CanActivate {
  readonly #cache = new PolicyCache<ResolvedRateLimit>();

  constructor(
    @Inject(Reflector) protected readonly reflector: Reflector,
    @Inject(SluiceLimiters) protected readonly limiters: SluiceLimiters,
  ) {}

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const req = httpRequest(context);
    const policies = this.getPolicies(context);
    if (policies.length === 0 || seenByRateLimit(req)) return true;
    const skip = this.shouldSkip(context);
    const headers: Record<string, string> = {};
    if (skip !== false) return this.#checkAsync(context, req, policies, 0, headers, skip);
    // Synchronous while nothing returns a promise: the common case awaits nothing.
    for (let i = 0; i < policies.length; i++) {
      const policy = policies[i] as ResolvedRateLimit;
      if (!policy.plain) return this.#checkAsync(context, req, policies, i, headers, false);
      const key = this.getKey(context, policy);
      if (isThenable(key)) return this.#checkAsync(context, req, policies, i, headers, false, key);
      const refused = this.#take(policy, key, 1, headers);
      if (isThenable(refused)) {
        return this.#afterRemote(context, req, policies, i, headers, refused);
      }
      if (refused !== undefined) return this.#refuse(context, refused, policy);
    }
    this.#finish(context, headers);
    return true;
  }

  /** The rate limits that apply to this handler, in the order they are taken. */
  protected getPolicies(context: ExecutionContext): ResolvedRateLimit[] {
    return this.#cache.get(context, () => rateLimitPolicies(context, this.limiters));
  }

  /** True lets the request through every rate limit of this guard. */
  protected shouldSkip(_context: ExecutionContext): boolean | Promise<boolean> {
    return false;
  }

  /** The client's key: the limit's `key(req)`, else the address the platform resolved (`req.ip`). */
  protected getKey(context: ExecutionContext, policy: ResolvedRateLimit): unknown {
    const req = httpRequest(context);
    return policy.options.key === undefined ? clientAddress(req) : policy.options.key(req);
  }

  /** Answers a refusal; see `ConcurrencyGuard#onRejected`. Must throw. */
  protected async onRejected(
    context: ExecutionContext,
    rejection: Rejection,
    policy: ResolvedRateLimit,
  ): Promise<never> {
    return answerRejection(context, rejection, policy.options.onRejected);
  }

  async #checkAsync(
    context: ExecutionContext,
    req: SluiceRequest,
    policies: ResolvedRateLimit[],
    from: number,
    headers: Record<string, string>,
    skip: boolean | Promise<boolean>,
    pendingKey?: PromiseLike<unknown>,
  ): Promise<boolean> {
    if (await skip) return true;
    for (let i = from; i < policies.length; i++) {
      const policy = policies[i] as ResolvedRateLimit;
      const { skip: skipThis, cost } = policy.options;
      // A plain policy whose key came back as a promise: its getKey already ran.
      const keyPromise = i === from ? pendingKey : undefined;
      if (keyPromise === undefined && skipThis !== undefined && (await skipThis(req))) continue;
      const clientKey = await (keyPromise ?? this.getKey(context, policy));
      const tokens = cost === undefined ? 1 : await cost(req);
      let refused = this.#take(policy, clientKey, tokens, headers);
      if (isThenable(refused)) {
        refused = await refused;
        this.#checkPresent(context);
      }
      if (refused !== undefined) return this.#refuse(context, refused, policy);
    }
    this.#finish(context, headers);
    return true;
  }

  /** Waits for a remote limiter's answer about `policies[at]`, then goes on with the rest. */
  async #afterRemote(
    context: ExecutionContext,
    req: SluiceRequest,
    policies: ResolvedRateLimit[],
    at: number,
    headers: Record<string, string>,
    taken: PromiseLike<Rejection | undefined>,
  ): Promise<boolean> {
    const refused = await taken;
    this.#checkPresent(context);
    if (refused !== undefined) return this.#refuse(context, refused, policies[at]!);
    return this.#checkAsync(context, req, policies, at + 1, headers, false);
  }

  /**
   * After an await on a remote limiter: a client that left meanwhile gets nothing written (the
   * response's closed state is sticky, so no listener is needed to know).
   */
  #checkPresent(context: ExecutionContext): void {
    if (isClosed(rawResponse(httpResponse(context)))) throw new ClientClosedRequestException();
  }

  /**
   * Takes the tokens: one check-and-take, synchronous in process, a promise from a remote
   * limiter. Resolves the rejection if there were none. A limiter that cannot decide (closed;
   * a store unavailable) is 503, never 429; any other error is thrown.
   */
  #take(
    policy: ResolvedRateLimit,
    key: unknown,
    tokens: number,
    headers: Record<string, string>,
  ): Rejection | undefined | PromiseLike<Rejection | undefined> {
    let result: TryTakeResult | PromiseLike<TryTakeResult>;
    try {
      result = policy.bucket.tryTake(key, tokens);
    } catch (error) {
      return undecided(error);
    }
    if (isThenable(result)) {
      return result.then((late) => this.#judge(policy, late, headers), undecided);
    }
    return this.#judge(policy, result, headers);
  }

  #judge(
    policy: ResolvedRateLimit,
    result: TryTakeResult,
    headers: Record<string, string>,
  ): Rejection | undefined {
    if (!result.ok) {
      return rejection({
        reason: 'rate_limited',
        retryAfterMs: result.retryAfterMs,
        ...(policy.headers ? { headers: rateLimitHeaderValues(policy, 0) } : {}),
      });
    }
    // A degraded grant (the store was unavailable, the limiter admits anyway) knows no count.
    if (policy.headers && result.degraded !== true) {
      mergeHeaders(headers, rateLimitHeaderValues(policy, result.remaining));
    }
    return undefined;
  }

  async #refuse(
    context: ExecutionContext,
    refused: Rejection,
    policy: ResolvedRateLimit,
  ): Promise<never> {
    await this.onRejected(context, refused, policy);
    // A hook that returned instead of throwing must still not let the request in.
    throw new SluiceRejectedException(refused);
  }

  #finish(context: ExecutionContext, headers: Record<string, string>): void {
    for (const _ in headers) {
      const res = httpResponse(context);
      if (!rawResponse(res).headersSent) setHeaders(res, headers);
      return;
    }
  }
}

function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as PromiseLike<T> | undefined)?.then === 'function';
}

/** A limiter that could not decide: its rejection (503 `closed` / `unavailable`), or a bug. */
function undecided(error: unknown): Rejection {
  const reason = rejectionReasonOf(error);
  if (reason === undefined) throw error;
  return rejection({ reason, scope: 'client' });
}
