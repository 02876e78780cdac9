// The subscribers of one Redis limiter, with core's rules: dispatch is synchronous and over a
// snapshot (a listener added during an event hears the next one; one removed hears nothing
// more), and a listener that throws is reported (reportError, or the console) without breaking
// the limiter or the other listeners. The events are what this process saw: its own decisions.

import {
  ClosedError,
  type LimiterEvent,
  type LimiterListener,
  QueueFullError,
  type RejectedReason,
  TimeoutError,
  UnavailableError,
} from '@sluice/core';
import { describe } from './validate.js';

interface Subscription {
  listener: LimiterListener<unknown> | null;
}

export class Listeners {
  /** True for a keyed limiter: its events carry the caller's key. */
  readonly #keyed: boolean;
  // Replaced, never mutated, so a dispatch walks the array it started with.
  #subscriptions: readonly Subscription[] = [];

  constructor(keyed: boolean) {
    this.#keyed = keyed;
  }

  /** False while nobody listens: callers skip making the event (and reading the clock). */
  get active(): boolean {
    return this.#subscriptions.length !== 0;
  }

  subscribe(listener: LimiterListener<unknown>): () => void {
    if (typeof listener !== 'function') {
      throw new TypeError(
        `Expected \`listener\` to be a function, got ${describe(listener)} (${typeof listener})`,
      );
    }
    const subscription: Subscription = { listener };
    this.#subscriptions = [...this.#subscriptions, subscription];
    return () => {
      if (subscription.listener === null) return;
      subscription.listener = null;
      this.#subscriptions = this.#subscriptions.filter((s) => s !== subscription);
    };
  }

  /** Tells every listener `event` (with `key` for a keyed limiter); nothing while none listens. */
  emit(event: LimiterEvent<unknown>, key: unknown): void {
    if (this.#subscriptions.length === 0) return;
    if (this.#keyed) (event as { key?: unknown }).key = key;
    for (const subscription of this.#subscriptions) {
      const listener = subscription.listener;
      if (listener === null) continue;
      try {
        listener(event);
      } catch (error) {
        const report = (globalThis as { reportError?: (error: unknown) => void }).reportError;
        if (typeof report === 'function') report(error);
        else console.error(error);
      }
    }
  }

  rejected(reason: RejectedReason, weight: number, waitedMs: number, key: unknown): void {
    if (this.active) this.emit({ type: 'rejected', reason, weight, waitedMs }, key);
  }
}

/**
 * The rejection reason of the events for what a call failed with (`aborted`: it failed because
 * its signal aborted); undefined for what is not a rejection, e.g. a configuration error.
 */
export function rejectionReason(error: unknown, aborted: boolean): RejectedReason | undefined {
  if (aborted) return 'aborted';
  if (error instanceof TimeoutError) return 'queue_timeout';
  if (error instanceof QueueFullError) return 'queue_full';
  if (error instanceof ClosedError) return 'closed';
  if (error instanceof UnavailableError) return 'unavailable';
  return undefined;
}
