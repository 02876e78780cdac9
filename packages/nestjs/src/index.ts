export * from '@sluice/core';
export type {
  ClassifyOutcome,
  OutcomeClass,
  ProblemDetails,
  RateLimitPolicy,
  RateLimitState,
  Rejection,
  RejectionReason,
  RejectionScope,
  RequestOutcome,
} from '@sluice/core/http';
export { classifyOutcome, PROBLEM_CONTENT_TYPE } from '@sluice/core/http';
export { Concurrency, SkipConcurrency } from './concurrency.decorator.js';
export { ConcurrencyGuard } from './concurrency.guard.js';
export { ConcurrencyInterceptor } from './concurrency.interceptor.js';
export { getLimiterToken, InjectLimiter } from './inject-limiter.decorator.js';
export type { ResolvedConcurrency, ResolvedRateLimit } from './internal/policies.js';
export { RateLimit, SkipRateLimit } from './rate-limit.decorator.js';
export { RateLimitGuard } from './rate-limit.guard.js';
export {
  CONCURRENCY_METADATA,
  DEFAULT_LIMITER,
  RATE_LIMIT_METADATA,
  SKIP_CONCURRENCY_METADATA,
  SKIP_RATE_LIMIT_METADATA,
  SLUICE_OPTIONS,
} from './sluice.constants.js';
export type {
  ConcurrencyOptions,
  ConcurrencyTarget,
  RateLimitOptions,
  RateLimitTarget,
  SkipTarget,
  SluiceModuleAsyncOptions,
  SluiceModuleOptions,
  SluiceOptionsFactory,
  SluiceRequest,
  SluiceRequestInfo,
} from './sluice.interfaces.js';
export { SluiceModule } from './sluice.module.js';
export { SluiceLimiters } from './sluice-limiters.js';
export { SluiceRejectedException } from './sluice-rejected.exception.js';
export { SluiceRejectionFilter } from './sluice-rejection.filter.js';
