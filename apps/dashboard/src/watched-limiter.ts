import type { LimiterListener, RejectedReason } from '@sluice/core';

/**
 * What the dashboard needs of a limiter: its events, and, when it has them, the gauges of its
 * `stats()` (`inUse`, `waiting`, `capacity`; a limiter without them shows 0 and no capacity).
 */
export interface WatchedLimiter {
  subscribe(listener: LimiterListener<any>): () => void;
  stats(): { inUse?: number; waiting?: number; capacity?: number };
}

/** Every reason a request can be shed for, in the order the dashboard and /metrics list them. */
export const SHED_REASONS: readonly RejectedReason[] = [
  'queue_full',
  'queue_timeout',
  'aborted',
  'closed',
  'rate_limited',
  'unavailable',
];

export function assertLimiters(limiters: Record<string, WatchedLimiter>): void {
  if (typeof limiters !== 'object' || limiters === null || Object.keys(limiters).length === 0) {
    throw new TypeError(
      `Expected \`limiters\` to be an object of named limiters, got ${String(limiters)}`,
    );
  }
  for (const [name, limiter] of Object.entries(limiters)) {
    if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(name)) {
      throw new TypeError(
        `Expected limiter names like \`work\` (letters, digits, _), got "${name}"`,
      );
    }
    if (typeof limiter?.subscribe !== 'function' || typeof limiter.stats !== 'function') {
      throw new TypeError(
        `Expected \`limiters.${name}\` to have subscribe() and stats(), got ${String(limiter)}`,
      );
    }
  }
}
