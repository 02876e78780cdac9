import { assertPolicyName } from '@sluice/core/http';
import { appendMetadata, skipMetadata } from './internal/metadata.js';
import { createRateLimitPolicy } from './internal/policies.js';
import { RATE_LIMIT_METADATA, SKIP_RATE_LIMIT_METADATA } from './sluice.constants.js';
import type { RateLimitTarget, SkipTarget } from './sluice.interfaces.js';

/**
 * Puts a controller or a route under a per-client token bucket. Options make a limit of the
 * target's own that replaces "default" (a method's own wins over its controller's); a name adds
 * that rate limit from `SluiceModule.forRoot`. Enforced by `RateLimitGuard`.
 *
 * @example
 * @Get('hello')
 * @RateLimit({ capacity: 5, refillPerSecond: 1 })
 * hello() { return 'hello'; }
 */
export function RateLimit(...targets: RateLimitTarget[]): ClassDecorator & MethodDecorator {
  if (targets.length === 0)
    throw new TypeError('Expected `@RateLimit()` to get a limiter name or options');
  for (const target of targets) {
    if (typeof target === 'string') assertPolicyName('@RateLimit() name', target);
    else createRateLimitPolicy('@RateLimit()', target);
  }
  return appendMetadata(RATE_LIMIT_METADATA, targets);
}

/** Lets a controller or route through the rate-limit guard: bare, every limit; with names, those. */
export function SkipRateLimit(...targets: SkipTarget[]): ClassDecorator & MethodDecorator {
  return skipMetadata('@SkipRateLimit()', SKIP_RATE_LIMIT_METADATA, targets);
}
