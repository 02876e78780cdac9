// @sluice/hono: concurrency limits (503) and per-client rate limits (429) as Hono middleware.
// Core is re-exported so an app installs and imports one package.

export * from '@sluice/core';
export type {
  ClassifyOutcome,
  OutcomeClass,
  ProblemDetails,
  Rejection,
  RejectionReason,
  RejectionScope,
  RequestOutcome,
} from '@sluice/core/http';
export { classifyOutcome } from '@sluice/core/http';
export type {
  ConcurrencyEnv,
  ConcurrencyMiddleware,
  ConcurrencyOptions,
  SluiceRequestState,
} from './concurrency.js';
export { concurrency } from './concurrency.js';
export type { ConnInfoLike, RateLimitMiddleware, RateLimitOptions } from './rate-limit.js';
export { rateLimit } from './rate-limit.js';
