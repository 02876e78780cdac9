// Test helper: collects a limiter's events in an array.

import type { LimiterEvent } from '../events.js';

export function recordEvents<K = never>(limiter: {
  subscribe(listener: (event: LimiterEvent<K>) => void): () => void;
}): { events: LimiterEvent<K>[]; stop: () => void } {
  const events: LimiterEvent<K>[] = [];
  const stop = limiter.subscribe((event) => events.push(event));
  return { events, stop };
}
