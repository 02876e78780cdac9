// The subscribers of one Redis limiter, with core's rules: dispatch is synchronous and over a
// snapshot (a listener added during an event hears the next one; one removed hears nothing
// more), and a listener that throws is reported (reportError, or the console) without breaking
// the limiter or the other listeners. The events are what this process saw: its own decisions.

import type { LimiterEvent, LimiterListener } from '@sluice/core';
import { describe } from './validate.js';

interface Subscription<K> {
  listener: LimiterListener<K> | null;
}

export class Listeners<K = never> {
  // Replaced, never mutated, so a dispatch walks the array it started with.
  #subscriptions: readonly Subscription<K>[] = [];

  /** False while nobody listens: callers skip making the event (and reading the clock). */
  get active(): boolean {
    return this.#subscriptions.length !== 0;
  }

  subscribe(listener: LimiterListener<K>): () => void {
    if (typeof listener !== 'function') {
      throw new TypeError(
        `Expected \`listener\` to be a function, got ${describe(listener)} (${typeof listener})`,
      );
    }
    const subscription: Subscription<K> = { listener };
    this.#subscriptions = [...this.#subscriptions, subscription];
    return () => {
      if (subscription.listener === null) return;
      subscription.listener = null;
      this.#subscriptions = this.#subscriptions.filter((s) => s !== subscription);
    };
  }

  emit(event: LimiterEvent<K>): void {
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
}
