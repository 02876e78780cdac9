// The limiters of a handler, from its metadata and the module's named limiters; cached per
// handler and controller (a handler inherited by two controllers may get two answers).

import type { ExecutionContext } from '@nestjs/common';
import {
  CONCURRENCY_METADATA,
  DEFAULT_LIMITER,
  RATE_LIMIT_METADATA,
  SKIP_CONCURRENCY_METADATA,
  SKIP_RATE_LIMIT_METADATA,
} from '../sluice.constants.js';
import type { ConcurrencyOptions, RateLimitOptions } from '../sluice.interfaces.js';
import type { SluiceLimiters } from '../sluice-limiters.js';
import { selectLimiters } from './metadata.js';
import type { ResolvedConcurrency, ResolvedRateLimit } from './policies.js';

export class PolicyCache<P> {
  readonly #byHandler = new WeakMap<Function, WeakMap<Function, P[]>>();
  // The last answer, checked first: a burst of requests to one route skips both WeakMap lookups.
  #lastHandler: Function | undefined;
  #lastController: Function | undefined;
  #last: P[] = [];

  get(context: ExecutionContext, build: () => P[]): P[] {
    const handler = context.getHandler();
    const controller = context.getClass();
    if (handler === this.#lastHandler && controller === this.#lastController) return this.#last;
    const policies = this.#lookUp(handler, controller, build);
    this.#lastHandler = handler;
    this.#lastController = controller;
    this.#last = policies;
    return policies;
  }

  #lookUp(handler: Function, controller: Function, build: () => P[]): P[] {
    let byClass = this.#byHandler.get(handler);
    let policies = byClass?.get(controller);
    if (policies !== undefined) return policies;
    policies = build();
    if (byClass === undefined) {
      byClass = new WeakMap();
      this.#byHandler.set(handler, byClass);
    }
    byClass.set(controller, policies);
    return policies;
  }
}

/** The handler's own limit (if any) first, then the named ones in name order. */
export function concurrencyPolicies(
  context: ExecutionContext,
  limiters: SluiceLimiters,
): ResolvedConcurrency[] {
  const { own, names } = selectLimiters<ConcurrencyOptions>(
    context,
    CONCURRENCY_METADATA,
    SKIP_CONCURRENCY_METADATA,
    limiters.hasConcurrency(DEFAULT_LIMITER) ? DEFAULT_LIMITER : undefined,
  );
  const policies = names.map((name) => limiters.concurrencyPolicy(name));
  if (own !== undefined) policies.unshift(limiters.ownConcurrencyPolicy(own));
  return policies;
}

export function rateLimitPolicies(
  context: ExecutionContext,
  limiters: SluiceLimiters,
): ResolvedRateLimit[] {
  const { own, names } = selectLimiters<RateLimitOptions>(
    context,
    RATE_LIMIT_METADATA,
    SKIP_RATE_LIMIT_METADATA,
    limiters.hasRateLimit(DEFAULT_LIMITER) ? DEFAULT_LIMITER : undefined,
  );
  const policies = names.map((name) => limiters.rateLimitPolicy(name));
  if (own !== undefined) policies.unshift(limiters.ownRateLimitPolicy(own));
  return policies;
}
