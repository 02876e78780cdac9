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
  ConcurrencyMiddleware,
  ConcurrencyOptions,
  RejectedHandler,
} from './concurrency.js';
export { concurrency } from './concurrency.js';
export type { RateLimitMiddleware, RateLimitOptions } from './rate-limit.js';
export { rateLimit } from './rate-limit.js';
export type { SluiceRequestState } from './types.js';
