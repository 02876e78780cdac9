import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { type Rejection, rejection } from '@sluice/core/http';
import {
  clientAddress,
  httpRequest,
  httpResponse,
  mergeHeaders,
  rawResponse,
  setHeaders,
} from './internal/http.js';
import { type ResolvedRateLimit, rateLimitHeaderValues } from './internal/policies.js';
import { answerRejection } from './internal/reject.js';
import { PolicyCache, rateLimitPolicies } from './internal/resolve.js';
import { seenByRateLimit } from './internal/seen.js';
import type { SluiceRequest } from './sluice.interfaces.js';
import { SluiceLimiters } from './sluice-limiters.js';
import { SluiceRejectedException } from './sluice-rejected.exception.js';

/**
 * Per-client token buckets from `@RateLimit` and `SluiceModule`: a request takes a token of
 * every limit that applies, or gets 429 with `Retry-After` (RateLimit headers on every answer,
 * unless `headers: false`). The check and the take are one synchronous `tryTake`. Use it with
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
      const refused = this.#take(policy, clientKey, tokens, headers);
      if (refused !== undefined) return this.#refuse(context, refused, policy);
    }
    this.#finish(context, headers);
    return true;
  }

  /** Takes the tokens (one synchronous check-and-take); the rejection if there were none. */
  #take(
    policy: ResolvedRateLimit,
    key: unknown,
    tokens: number,
    headers: Record<string, string>,
  ): Rejection | undefined {
    const result = policy.bucket.tryTake(key, tokens);
    if (!result.ok) {
      return rejection({
        reason: 'rate_limited',
        retryAfterMs: result.retryAfterMs,
        ...(policy.headers ? { headers: rateLimitHeaderValues(policy, 0) } : {}),
      });
    }
    if (policy.headers) mergeHeaders(headers, rateLimitHeaderValues(policy, result.remaining));
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

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | undefined)?.then === 'function';
}
