// One shape for the two kinds of limiter `concurrency` accepts: a shared `Limiter` (a
// Semaphore, or anything granting permits, remote ones included) and a per-client
// `KeyedLimiter` (a KeyedSemaphore, or a remote one). A remote limiter has no `tryAcquire`.
import {
  type KeyedLimiter,
  KeyedSemaphore,
  type Limiter,
  type Permit,
  Semaphore,
} from '@sluice/core';
import type { ConcurrencySettings, RejectionScope } from '@sluice/core/http';

export interface Gate {
  /** The limiter itself, created from a number or given by the user. */
  readonly limiter: Limiter | KeyedLimiter<string>;
  /** 'shared' refusals are 503, 'client' ones 429. */
  readonly scope: RejectionScope;
  readonly keyed: boolean;
  tryAcquire(key: string, weight: number): Permit | undefined;
  acquire(
    key: string,
    weight: number,
    timeout: number,
    signal: AbortSignal | undefined,
  ): Promise<Permit>;
  /** Capacity and what is left, for RateLimit headers; undefined when the limiter hides them. */
  gauges(key: string): { capacity: number; available: number } | undefined;
}

type KeyedLike = KeyedLimiter<string> & { stats?: KeyedSemaphore<string>['stats'] };

function sharedGate(limiter: Limiter): Gate {
  const gauged = limiter as Partial<Pick<Semaphore, 'capacity' | 'available'>>;
  const hasGauges = typeof gauged.capacity === 'number' && typeof gauged.available === 'number';
  return {
    limiter,
    scope: 'shared',
    keyed: false,
    tryAcquire: (_key, weight) => limiter.tryAcquire?.(weight),
    acquire: (_key, weight, timeout, signal) => limiter.acquire({ weight, timeout, signal }),
    gauges: () =>
      hasGauges
        ? { capacity: gauged.capacity as number, available: gauged.available as number }
        : undefined,
  };
}

function keyedGate(limiter: KeyedLike, capacity: number | undefined): Gate {
  return {
    limiter,
    scope: 'client',
    keyed: true,
    tryAcquire: (key, weight) => limiter.tryAcquire?.(key, weight),
    acquire: (key, weight, timeout, signal) => limiter.acquire(key, { weight, timeout, signal }),
    gauges: (key) => {
      const stats = typeof limiter.stats === 'function' ? limiter.stats(key) : undefined;
      if (stats !== undefined) return { capacity: stats.capacity, available: stats.available };
      // A key that holds nothing is gone: its whole capacity is free.
      return capacity === undefined ? undefined : { capacity, available: capacity };
    },
  };
}

/** Builds the gate of `concurrency(options)` from its checked `limit` and settings. */
export function makeGate(
  limit: unknown,
  { limitKind, keyed, maxWaiting }: ConcurrencySettings,
): Gate {
  if (limitKind === 'number') {
    const capacity = limit as number;
    return keyed
      ? keyedGate(new KeyedSemaphore<string>(capacity, { maxWaiting }), capacity)
      : sharedGate(new Semaphore(capacity, { maxWaiting }));
  }
  return limitKind === 'keyed-limiter'
    ? keyedGate(limit as KeyedLike, undefined)
    : sharedGate(limit as Limiter);
}
