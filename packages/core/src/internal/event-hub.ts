// The listeners of one public limiter, and the few ways its engines report to them.
//
// Cost when nobody listens: the engines hold a reference to the hub only while it has a
// listener (`onActive` sets and clears it), so their hot path is one null check; no clock is
// read and no event object is made. While somebody listens, every event is one object and one
// call per listener.
//
// Dispatch is synchronous and over a snapshot: a listener added while an event is dispatched
// first hears the next event; a listener removed while an event is dispatched hears nothing
// more (not even the rest of that event). A listener that throws is reported (reportError, or
// the console) and the other listeners and the limiter carry on.

import type { LimiterEvent, LimiterListener, RejectedReason } from '../events.js';
import { describe } from './validate.js';

interface Subscription {
  /** Null once unsubscribed: the listener is neither called nor retained. */
  listener: LimiterListener<unknown> | null;
}

/** Something the hub can time: a permit (since its grant) or a waiter (since it queued). */
export interface Timed {
  /**
   * Clock time it was granted or queued. Set only while somebody listens; absent otherwise, so
   * objects made with no listener carry no field for it.
   */
  at?: number | undefined;
}

const NONE: readonly Subscription[] = [];

/** Where a listener's error goes: `reportError` where the platform has it, else the console. */
export function reportListenerError(error: unknown): void {
  const report = (globalThis as { reportError?: (error: unknown) => void }).reportError;
  if (typeof report === 'function') report(error);
  else console.error(error);
}

export class EventHub {
  readonly now: () => number;
  /** True for keyed limiters: their events carry `key`. */
  readonly keyed: boolean;
  readonly #onActive: (hub: EventHub | null) => void;
  // Replaced, never mutated, so a dispatch walks the array it started with.
  #subscriptions: readonly Subscription[] = NONE;
  /**
   * When the hub last went from no listener to one: what a permit granted (or a waiter queued)
   * while nobody listened is timed from, since its own time was not taken.
   */
  since = 0;

  /** `onActive(this)` when the first listener comes, `onActive(null)` when the last one leaves. */
  constructor(now: () => number, keyed: boolean, onActive: (hub: EventHub | null) => void) {
    this.now = now;
    this.keyed = keyed;
    this.#onActive = onActive;
  }

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
    const first = this.#subscriptions.length === 0;
    this.#subscriptions = [...this.#subscriptions, subscription];
    if (first) {
      this.since = this.now();
      this.#onActive(this);
    }
    return () => {
      if (subscription.listener === null) return;
      subscription.listener = null;
      const rest = this.#subscriptions.filter((s) => s !== subscription);
      this.#subscriptions = rest.length === 0 ? NONE : rest;
      if (rest.length === 0) this.#onActive(null);
    };
  }

  emit(event: LimiterEvent<unknown>): void {
    for (const subscription of this.#subscriptions) {
      const listener = subscription.listener;
      if (listener === null) continue;
      try {
        listener(event);
      } catch (error) {
        reportListenerError(error);
      }
    }
  }

  /** Milliseconds since `item` was granted or queued (since subscribing, if that was earlier). */
  #elapsed(item: Timed, now: number): number {
    return Math.max(0, now - (item.at ?? this.since));
  }

  /** A grant that did not wait; starts timing the permit. */
  acquired(permit: Timed, weight: number, key: unknown): void {
    permit.at = this.now();
    this.emit(
      this.keyed
        ? { type: 'acquired', weight, waitedMs: 0, key }
        : { type: 'acquired', weight, waitedMs: 0 },
    );
  }

  /** A waiter served: reports its wait and starts timing its permit (the same object or not). */
  served(waiter: Timed, permit: Timed, weight: number, key: unknown): void {
    const now = this.now();
    const waitedMs = this.#elapsed(waiter, now);
    permit.at = now;
    this.emit(
      this.keyed
        ? { type: 'acquired', weight, waitedMs, key }
        : { type: 'acquired', weight, waitedMs },
    );
  }

  /** A grant with no permit to time (a token bucket's tokens). */
  taken(weight: number, key: unknown): void {
    this.emit(
      this.keyed
        ? { type: 'acquired', weight, waitedMs: 0, key }
        : { type: 'acquired', weight, waitedMs: 0 },
    );
  }

  released(permit: Timed, weight: number, key: unknown): void {
    const heldMs = this.#elapsed(permit, this.now());
    this.emit(
      this.keyed ? { type: 'released', weight, heldMs, key } : { type: 'released', weight, heldMs },
    );
  }

  /** A new waiter; starts timing its wait. */
  queued(waiter: Timed, weight: number, key: unknown): void {
    waiter.at = this.now();
    this.emit(this.keyed ? { type: 'queued', weight, key } : { type: 'queued', weight });
  }

  /** Refused without waiting. */
  refused(reason: RejectedReason, weight: number, key: unknown): void {
    this.emit(
      this.keyed
        ? { type: 'rejected', reason, weight, waitedMs: 0, key }
        : { type: 'rejected', reason, weight, waitedMs: 0 },
    );
  }

  /** A waiter that left the queue unserved. */
  left(waiter: Timed, reason: RejectedReason, weight: number, key: unknown): void {
    const waitedMs = this.#elapsed(waiter, this.now());
    this.emit(
      this.keyed
        ? { type: 'rejected', reason, weight, waitedMs, key }
        : { type: 'rejected', reason, weight, waitedMs },
    );
  }

  limit(limit: number, previous: number): void {
    this.emit({ type: 'limit', limit, previous });
  }
}
