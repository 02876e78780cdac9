export type { AdaptiveSemaphoreOptions } from './adaptive-semaphore.js';
export { AdaptiveSemaphore } from './adaptive-semaphore.js';
export type { AimdOptions } from './aimd.js';
export { aimd } from './aimd.js';
export { BoundedQueue } from './bounded-queue.js';
export {
  ClosedError,
  QueueFullError,
  SluiceError,
  TimeoutError,
  UnavailableError,
} from './errors.js';
export type {
  AcquiredEvent,
  LimitEvent,
  LimiterEvent,
  LimiterListener,
  Observable,
  QueuedEvent,
  RejectedEvent,
  RejectedReason,
  ReleasedEvent,
} from './events.js';
export type { Gradient2Options } from './gradient2.js';
export { gradient2 } from './gradient2.js';
export type { Job, JobStatus } from './job.js';
export type { JobSchedulerOptions, JobSchedulerStats } from './job-scheduler.js';
export { JobScheduler } from './job-scheduler.js';
export type { KeyedSemaphoreOptions } from './keyed-semaphore.js';
export { KeyedSemaphore } from './keyed-semaphore.js';
export type { KeyedTokenBucketOptions } from './keyed-token-bucket.js';
export { KeyedTokenBucket } from './keyed-token-bucket.js';
export type { LimitedDecorator } from './limited.js';
export { limited } from './limited.js';
export type { LimiterKind } from './limiter-kind.js';
export { limiterKind, limiterKindOf } from './limiter-kind.js';
export { Lock } from './lock.js';
export type { MapConcurrentOptions } from './map-concurrent.js';
export { mapConcurrent } from './map-concurrent.js';
export { isOverload } from './overload.js';
export type { SemaphoreOptions } from './semaphore.js';
export { Semaphore } from './semaphore.js';
export type { TokenBucketOptions } from './token-bucket.js';
export { TokenBucket } from './token-bucket.js';
export type {
  AcquireOptions,
  AdaptivePermit,
  KeyedLimiter,
  LimitAlgorithm,
  Limiter,
  LimitSample,
  Permit,
  RateLimiter,
  SemaphoreStats,
  TryTakeResult,
  WaitOptions,
} from './types.js';
export type { VegasOptions } from './vegas.js';
export { vegas } from './vegas.js';
