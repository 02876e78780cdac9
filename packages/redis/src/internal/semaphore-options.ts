// Options shared by RedisSemaphore, RedisLock and RedisKeyedSemaphore, checked once.

import type { AcquireOptions } from '@sluice/core';
import type { RedisStore } from '../redis-store.js';
import { assertKeyPart, assertObject, assertWaitOptions, describe } from './validate.js';

export interface LeaseOptions {
  /**
   * Milliseconds a grant is valid without a refresh: a crashed holder's weight comes back at
   * most this long after its last refresh. The store refreshes every third of it. Default 10000.
   */
  lease?: number;
  /**
   * Milliseconds a queued waiter stays in the queue without a heartbeat (the store sends one
   * every third of it): a crashed waiter blocks the queue at most this long. Default 3000.
   */
  waiterTtl?: number;
}

export interface CheckedOptions {
  store: RedisStore;
  name: string;
  maxWaiting: number;
  lease: number;
  waiterTtl: number;
}

function integerAtLeast(name: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new (typeof value === 'number' ? RangeError : TypeError)(
      `Expected \`${name}\` to be an integer >= ${min}, got ${describe(value)}`,
    );
  }
  return value;
}

export function checkStore(store: unknown, className: string): RedisStore {
  if (!(store instanceof Object) || typeof (store as RedisStore).key !== 'function') {
    throw new TypeError(
      `Expected \`store\` of ${className} to be a RedisStore, got ${describe(store)}`,
    );
  }
  return store as RedisStore;
}

export function checkOptions(
  store: unknown,
  options: unknown,
  className: string,
): CheckedOptions & Record<string, unknown> {
  const checkedStore = checkStore(store, className);
  assertObject('options', options);
  const o = options as Record<string, unknown>;
  assertKeyPart('name', o.name);
  const { maxWaiting = Number.POSITIVE_INFINITY, lease = 10_000, waiterTtl = 3000 } = o;
  if (maxWaiting !== Number.POSITIVE_INFINITY) integerAtLeast('maxWaiting', maxWaiting, 0);
  integerAtLeast('lease', lease, 30);
  integerAtLeast('waiterTtl', waiterTtl, 30);
  return {
    ...o,
    store: checkedStore,
    name: o.name,
    maxWaiting: maxWaiting as number,
    lease: lease as number,
    waiterTtl: waiterTtl as number,
  };
}

export function checkCapacity(capacity: unknown): number {
  return integerAtLeast('capacity', capacity, 1);
}

/** Throws what an acquire with these options must report; returns the weight. */
export function checkAcquire(options: AcquireOptions | undefined, capacity: number): number {
  if (options === undefined) return 1;
  assertObject('options', options);
  const { weight = 1, signal, timeout } = options;
  if (typeof weight !== 'number' || !Number.isInteger(weight) || weight < 1) {
    throw new (typeof weight === 'number' ? RangeError : TypeError)(
      `Expected \`weight\` to be a positive integer, got ${describe(weight)}`,
    );
  }
  if (weight > capacity) {
    throw new RangeError(
      `Expected \`weight\` to be at most the capacity (${capacity}), got ${weight}`,
    );
  }
  assertWaitOptions(signal, timeout);
  return weight;
}
