// What a limiter tells its subscribers. Plain objects, made only while somebody listens.

/** Why a request was not served: the rejection reasons of `@sluice/core/http`, plus `aborted`. */
export type RejectedReason =
  | 'queue_full'
  | 'queue_timeout'
  | 'aborted'
  | 'closed'
  | 'rate_limited'
  | 'unavailable';

/**
 * A grant: `weight` permits (or tokens) after `waitedMs` in the queue (0 when it did not wait).
 * A waiter that queued before the first subscription reports its wait since that subscription.
 */
export interface AcquiredEvent<K = never> {
  type: 'acquired';
  weight: number;
  waitedMs: number;
  /** Keyed limiters only. */
  key?: K;
}

/**
 * A permit given back after `heldMs`. Token buckets never emit it (tokens are not given back).
 * A permit granted before the first subscription reports the time since that subscription.
 */
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

/**
 * A request that was not served, and why; `waitedMs` is 0 when it was refused without waiting.
 * A refused `tryAcquire` is not a rejection (nothing is emitted); a refused `tryTake` is
 * (`rate_limited`). Bad arguments emit nothing.
 */
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
 * A limiter that reports what it does. `subscribe` returns the function that unsubscribes
 * (idempotent); a listener that throws never breaks the limiter (its error goes to
 * `reportError`, or the console). Listeners are called synchronously, after the state changed,
 * over a snapshot: one subscribed during an event hears the next one, one unsubscribed during
 * an event hears nothing more.
 */
export interface Observable<K = never> {
  subscribe(listener: LimiterListener<K>): () => void;
}
