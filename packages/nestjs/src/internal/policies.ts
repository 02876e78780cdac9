// A limiter ready for requests: the core object plus the options that say how to use it.
// Built once per named limiter (at bootstrap) or per `@Concurrency({...})` target (on first use).

import {
  KeyedSemaphore,
  KeyedTokenBucket,
  type Limiter,
  type Permit,
  Semaphore,
} from '@sluice/core';
import { concurrencyHeaders, tokenBucketHeaders } from '@sluice/core/http';
import {
  DEFAULT_CONCURRENCY_NAME,
  DEFAULT_MAX_WAITING,
  DEFAULT_RATE_LIMIT_NAME,
  DEFAULT_RETRY_AFTER_S,
  DEFAULT_TIMEOUT_MS,
} from '../sluice.constants.js';
import type { ConcurrencyOptions, RateLimitOptions } from '../sluice.interfaces.js';
import {
  assertCount,
  assertName,
  assertOptionalBoolean,
  assertOptionalFunction,
  assertOptionsObject,
  assertPositiveFinite,
  assertPositiveInteger,
  assertQueueLength,
  assertTimeout,
  describe,
} from './validate.js';

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
  readonly limiter: Limiter | KeyedSemaphore<unknown>;
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
  readonly bucket: KeyedTokenBucket<unknown>;
  readonly capacity: number;
  readonly refillPerSecond: number;
  readonly headers: boolean;
  readonly owned: boolean;
}

function isKeyedSemaphore(value: unknown): value is KeyedSemaphore<unknown> {
  if (value instanceof KeyedSemaphore) return true;
  // Another copy of core (ESM next to CJS): a KeyedSemaphore has `size` and no `capacity`.
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { acquire?: unknown }).acquire === 'function' &&
    'size' in value &&
    !('capacity' in value)
  );
}

function isLimiter(value: unknown): value is Limiter {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Limiter).acquire === 'function' &&
    typeof (value as Limiter).tryAcquire === 'function'
  );
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
  name = DEFAULT_CONCURRENCY_NAME,
): ResolvedConcurrency {
  assertOptionsObject(label, options);
  const { limit } = options;
  const maxWaiting = options.maxWaiting ?? DEFAULT_MAX_WAITING;
  assertQueueLength(`${label}.maxWaiting`, maxWaiting);
  const timeout = options.timeout ?? DEFAULT_TIMEOUT_MS;
  assertTimeout(`${label}.timeout`, timeout);
  assertOptionalFunction(`${label}.key`, options.key);
  assertOptionalFunction(`${label}.weight`, options.weight);
  assertOptionalFunction(`${label}.skip`, options.skip);
  assertOptionalFunction(`${label}.onRejected`, options.onRejected);
  assertOptionalBoolean(`${label}.headers`, options.headers);
  const policyName = options.name ?? name;
  assertName(`${label}.name`, policyName);
  const retryAfter = options.retryAfter ?? DEFAULT_RETRY_AFTER_S;
  assertPositiveFinite(`${label}.retryAfter`, retryAfter);

  let limiter: Limiter | KeyedSemaphore<unknown>;
  let keyed: boolean;
  let owned = false;
  if (typeof limit === 'number') {
    assertCount(`${label}.limit`, limit);
    keyed = options.key !== undefined;
    limiter = keyed
      ? new KeyedSemaphore<unknown>(limit, { maxWaiting })
      : new Semaphore(limit, { maxWaiting });
    owned = true;
  } else if (isKeyedSemaphore(limit)) {
    if (options.key === undefined) {
      throw new TypeError(
        `Expected \`${label}.key\` to be a function when \`${label}.limit\` is a KeyedSemaphore`,
      );
    }
    keyed = true;
    limiter = limit;
  } else if (isLimiter(limit)) {
    keyed = false;
    limiter = limit;
  } else {
    throw new TypeError(
      `Expected \`${label}.limit\` to be a number, a Semaphore or a KeyedSemaphore, got ${describe(limit)}`,
    );
  }

  return {
    name: policyName,
    options,
    keyed,
    limiter,
    timeout,
    headers: options.headers ?? false,
    retryAfter,
    owned,
    plain: !keyed && options.weight === undefined && options.skip === undefined,
    acquire(key, weight, signal) {
      return keyed
        ? (limiter as KeyedSemaphore<unknown>).acquire(key, { weight, signal, timeout })
        : (limiter as Limiter).acquire({ weight, signal, timeout });
    },
    tryAcquire(key, weight) {
      return keyed
        ? (limiter as KeyedSemaphore<unknown>).tryAcquire(key, weight)
        : (limiter as Limiter).tryAcquire(weight);
    },
    headerValues(key) {
      const gauges = keyed
        ? gaugesOf((limiter as KeyedSemaphore<unknown>).stats(key))
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
  name = DEFAULT_RATE_LIMIT_NAME,
): ResolvedRateLimit {
  assertOptionsObject(label, options);
  assertOptionalFunction(`${label}.key`, options.key);
  assertOptionalFunction(`${label}.cost`, options.cost);
  assertOptionalFunction(`${label}.skip`, options.skip);
  assertOptionalFunction(`${label}.onRejected`, options.onRejected);
  assertOptionalBoolean(`${label}.headers`, options.headers);
  const policyName = options.name ?? name;
  assertName(`${label}.name`, policyName);

  let bucket: KeyedTokenBucket<unknown>;
  let owned = false;
  if (options.limiter !== undefined) {
    const shared = options.limiter as unknown;
    if (
      typeof shared !== 'object' ||
      shared === null ||
      typeof (shared as KeyedTokenBucket<unknown>).tryTake !== 'function'
    ) {
      throw new TypeError(
        `Expected \`${label}.limiter\` to be a KeyedTokenBucket, got ${describe(shared)}`,
      );
    }
    bucket = options.limiter;
  } else {
    assertPositiveInteger(`${label}.capacity`, options.capacity);
    assertPositiveFinite(`${label}.refillPerSecond`, options.refillPerSecond);
    if (options.maxKeys !== undefined) assertQueueLength(`${label}.maxKeys`, options.maxKeys);
    bucket = new KeyedTokenBucket<unknown>({
      capacity: options.capacity,
      refillPerSecond: options.refillPerSecond,
      ...(options.maxKeys === undefined ? {} : { maxKeys: options.maxKeys }),
    });
    owned = true;
  }
  return {
    name: policyName,
    plain: options.skip === undefined && options.cost === undefined,
    options,
    bucket,
    capacity: bucket.capacity,
    refillPerSecond: bucket.refillPerSecond,
    headers: options.headers ?? true,
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
