// A limiter ready for requests: the core object plus the options that say how to use it.
// Built once per named limiter (at bootstrap) or per `@Concurrency({...})` target (on first use).

import {
  type KeyedLimiter,
  KeyedSemaphore,
  KeyedTokenBucket,
  type Limiter,
  type Permit,
  type RateLimiter,
  Semaphore,
} from '@sluice/core';
import {
  concurrencyHeaders,
  resolveConcurrencySettings,
  resolveRateLimitSettings,
  tokenBucketHeaders,
} from '@sluice/core/http';
import type { ConcurrencyOptions, RateLimitOptions } from '../sluice.interfaces.js';

/** Gauges of a limit, for RateLimit headers; what a Semaphore (or a KeyedSemaphore key) reports. */
interface Gauges {
  capacity: number;
  available: number;
}

export interface ResolvedConcurrency {
  /** Policy name in RateLimit headers. */
  readonly name: string;
  readonly options: ConcurrencyOptions;
  /** A per-client limit: acquires need a key, refusals are 429. */
  readonly keyed: boolean;
  readonly limiter: Limiter | KeyedLimiter<unknown>;
  readonly timeout: number;
  readonly headers: boolean;
  readonly retryAfter: number;
  /** True when the limiter was made here (so closing it on shutdown is ours to do). */
  readonly owned: boolean;
  /** No `key`, `weight` or `skip` to call: the guard can take a permit without awaiting anything. */
  readonly plain: boolean;
  acquire(key: unknown, weight: number, signal: AbortSignal): Promise<Permit>;
  /** A permit now if one is free and nobody waits (what `acquire` would grant at once). */
  tryAcquire(key: unknown, weight: number): Permit | undefined;
  /** RateLimit headers now, or undefined when the limiter has no gauges to report. */
  headerValues(key: unknown): Record<string, string> | undefined;
}

export interface ResolvedRateLimit {
  readonly name: string;
  /** No `skip` or `cost` to call: the guard can take a token without awaiting anything. */
  readonly plain: boolean;
  readonly options: RateLimitOptions;
  readonly bucket: RateLimiter<unknown>;
  readonly capacity: number;
  readonly refillPerSecond: number;
  readonly headers: boolean;
  readonly owned: boolean;
}

function gaugesOf(value: unknown): Gauges | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { capacity, available } = value as Partial<Gauges>;
  return typeof capacity === 'number' && typeof available === 'number'
    ? { capacity, available }
    : undefined;
}

/**
 * Checks `options` and builds the limiter it describes. `label` names the options in error
 * messages (`concurrency.reports`, `@Concurrency()`); `name` is the default policy name.
 */
export function createConcurrencyPolicy(
  label: string,
  options: ConcurrencyOptions,
  name?: string,
): ResolvedConcurrency {
  // The option words and defaults shared by all sluice adapters.
  const settings = resolveConcurrencySettings(options, { path: label, name });
  const { keyed, maxWaiting, timeout, retryAfter, name: policyName } = settings;
  const { limit } = options;
  let limiter: Limiter | KeyedLimiter<unknown>;
  let owned = false;
  if (settings.limitKind === 'number') {
    const capacity = limit as number;
    limiter = keyed
      ? new KeyedSemaphore<unknown>(capacity, { maxWaiting })
      : new Semaphore(capacity, { maxWaiting });
    owned = true;
  } else {
    limiter = limit as Limiter | KeyedLimiter<unknown>;
  }

  return {
    name: policyName,
    options,
    keyed,
    limiter,
    timeout,
    headers: settings.headers,
    retryAfter,
    owned,
    plain: !keyed && options.weight === undefined && options.skip === undefined,
    acquire(key, weight, signal) {
      return keyed
        ? (limiter as KeyedLimiter<unknown>).acquire(key, { weight, signal, timeout })
        : (limiter as Limiter).acquire({ weight, signal, timeout });
    },
    tryAcquire(key, weight) {
      return keyed
        ? (limiter as KeyedLimiter<unknown>).tryAcquire?.(key, weight)
        : (limiter as Limiter).tryAcquire?.(weight);
    },
    headerValues(key) {
      const gauges = keyed
        ? gaugesOf((limiter as Partial<Pick<KeyedSemaphore<unknown>, 'stats'>>).stats?.(key))
        : gaugesOf(limiter);
      if (gauges === undefined) {
        // A key with nothing held is gone: its whole capacity is free.
        if (!keyed || typeof limit !== 'number') return undefined;
        return concurrencyHeaders(policyName, limit, limit, retryAfter);
      }
      return concurrencyHeaders(policyName, gauges.capacity, gauges.available, retryAfter);
    },
  };
}

/** Checks `options` and builds the per-client token buckets it describes. */
export function createRateLimitPolicy(
  label: string,
  options: RateLimitOptions,
  name?: string,
): ResolvedRateLimit {
  // The option words and defaults shared by all sluice adapters.
  const settings = resolveRateLimitSettings(options, { path: label, name });
  const { capacity, refillPerSecond, maxKeys } = settings;
  const bucket: RateLimiter<unknown> =
    options.limiter ??
    new KeyedTokenBucket<unknown>({
      capacity,
      refillPerSecond,
      ...(maxKeys === undefined ? {} : { maxKeys }),
    });
  const owned = options.limiter === undefined;
  return {
    name: settings.name,
    plain: options.skip === undefined && options.cost === undefined,
    options,
    bucket,
    capacity,
    refillPerSecond,
    headers: settings.headers,
    owned,
  };
}

/** RateLimit headers of a token bucket policy for a client with `remaining` tokens. */
export function rateLimitHeaderValues(
  policy: ResolvedRateLimit,
  remaining: number,
): Record<string, string> {
  return tokenBucketHeaders(policy.name, policy.capacity, policy.refillPerSecond, remaining);
}
