// What a limiter tells its subscribers. Plain objects, made only while somebody listens.

/** Why a request was not served: the rejection reasons of `@sluice/core/http`, plus `aborted`. */
export type RejectedReason =
  | 'queue_full'
  | 'queue_timeout'
  | 'aborted'
  | 'closed'
  | 'rate_limited'
  | 'unavailable';

/** A grant: `weight` permits (or tokens) after `waitedMs` in the queue (0 when it did not wait). */
export interface AcquiredEvent<K = never> {
  type: 'acquired';
  weight: number;
  waitedMs: number;
  /** Keyed limiters only. */
  key?: K;
}

/** A permit given back after `heldMs`. */
export interface ReleasedEvent<K = never> {
  type: 'released';
  weight: number;
  heldMs: number;
  key?: K;
}

/** A request that could not be served at once and now waits. */
export interface QueuedEvent<K = never> {
  type: 'queued';
  weight: number;
  key?: K;
}

/** A request that was not served, and why; `waitedMs` is 0 when it was refused without waiting. */
export interface RejectedEvent<K = never> {
  type: 'rejected';
  reason: RejectedReason;
  weight: number;
  waitedMs: number;
  key?: K;
}

/** An adaptive limit moved from `previous` to `limit`. */
export interface LimitEvent {
  type: 'limit';
  limit: number;
  previous: number;
}

export type LimiterEvent<K = never> =
  | AcquiredEvent<K>
  | ReleasedEvent<K>
  | QueuedEvent<K>
  | RejectedEvent<K>
  | LimitEvent;

export type LimiterListener<K = never> = (event: LimiterEvent<K>) => void;

/**
 * A limiter that reports what it does. `subscribe` returns the function that unsubscribes; a
 * listener that throws never breaks the limiter (its error goes to `reportError`, or the console).
 */
export interface Observable<K = never> {
  subscribe(listener: LimiterListener<K>): () => void;
}
