// One shape for the two kinds of limiter `concurrency` accepts: a shared `Limiter` (a
// Semaphore, or anything granting permits) and a per-client `KeyedSemaphore`.
import { KeyedSemaphore, type Limiter, type Permit, Semaphore } from '@sluice/core';
import type { RejectionScope } from '@sluice/core/http';
import { describe } from './validate.js';

export interface Gate {
  /** The limiter itself, created from a number or given by the user. */
  readonly limiter: Limiter | KeyedSemaphore<string>;
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

type KeyedLike = Pick<KeyedSemaphore<string>, 'acquire' | 'tryAcquire'> & {
  stats?: KeyedSemaphore<string>['stats'];
};

// `instanceof` fails across two loaded copies of core (ESM and CJS builds), so the class
// name is checked too.
function isKeyedSemaphore(value: object): value is KeyedLike {
  return value instanceof KeyedSemaphore || value.constructor?.name === 'KeyedSemaphore';
}

function isLimiter(value: object): value is Limiter {
  const limiter = value as Partial<Limiter>;
  return typeof limiter.acquire === 'function' && typeof limiter.tryAcquire === 'function';
}

function sharedGate(limiter: Limiter): Gate {
  const gauged = limiter as Partial<Pick<Semaphore, 'capacity' | 'available'>>;
  const hasGauges = typeof gauged.capacity === 'number' && typeof gauged.available === 'number';
  return {
    limiter,
    scope: 'shared',
    keyed: false,
    tryAcquire: (_key, weight) => limiter.tryAcquire(weight),
    acquire: (_key, weight, timeout, signal) => limiter.acquire({ weight, timeout, signal }),
    gauges: () =>
      hasGauges
        ? { capacity: gauged.capacity as number, available: gauged.available as number }
        : undefined,
  };
}

function keyedGate(limiter: KeyedLike, capacity: number | undefined): Gate {
  return {
    limiter: limiter as KeyedSemaphore<string>,
    scope: 'client',
    keyed: true,
    tryAcquire: (key, weight) => limiter.tryAcquire(key, weight),
    acquire: (key, weight, timeout, signal) => limiter.acquire(key, { weight, timeout, signal }),
    gauges: (key) => {
      const stats = typeof limiter.stats === 'function' ? limiter.stats(key) : undefined;
      if (stats !== undefined) return { capacity: stats.capacity, available: stats.available };
      // A key that holds nothing is gone: its whole capacity is free.
      return capacity === undefined ? undefined : { capacity, available: capacity };
    },
  };
}

/** Builds the gate of `concurrency(options)`; throws a TypeError naming the bad option. */
export function makeGate(
  where: string,
  limit: unknown,
  hasKey: boolean,
  maxWaiting: number | undefined,
): Gate {
  if (typeof limit === 'number') {
    const queue = { maxWaiting: maxWaiting ?? 100 };
    return hasKey
      ? keyedGate(new KeyedSemaphore<string>(limit, queue), limit)
      : sharedGate(new Semaphore(limit, queue));
  }
  if (typeof limit !== 'object' || limit === null) {
    throw new TypeError(
      `${where}: expected \`limit\` to be a positive integer, a Semaphore, a KeyedSemaphore or a Limiter, got ${describe(limit)}`,
    );
  }
  if (maxWaiting !== undefined) {
    throw new TypeError(
      `${where}: \`maxWaiting\` applies only when \`limit\` is a number; set \`maxWaiting\` on the limiter instance instead`,
    );
  }
  if (isKeyedSemaphore(limit)) {
    if (!hasKey) {
      throw new TypeError(`${where}: \`limit\` is a KeyedSemaphore, so \`key\` is required`);
    }
    return keyedGate(limit, undefined);
  }
  if (isLimiter(limit)) {
    if (hasKey) {
      throw new TypeError(
        `${where}: \`key\` needs a number \`limit\` or a KeyedSemaphore, got a shared limiter`,
      );
    }
    return sharedGate(limit);
  }
  throw new TypeError(
    `${where}: expected \`limit\` to be a positive integer, a Semaphore, a KeyedSemaphore or a Limiter (with acquire and tryAcquire), got ${describe(limit)}`,
  );
}
