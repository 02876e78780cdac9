// Option and argument checks shared by TokenBucket and KeyedTokenBucket.

import type { WaitOptions } from '../types.js';
import { type BucketConfig, SignalHub } from './bucket-core.js';
import { BucketScheduler } from './bucket-scheduler.js';
import { defaultNow } from './clock.js';
import {
  assertFunction,
  assertOptions,
  assertPositiveFinite,
  assertPositiveInteger,
  assertSignal,
  assertTimeout,
} from './validate.js';

/** Validates the options both bucket classes share and returns the config they run on. */
/** A bucket's settings as the options give them (TokenBucketOptions and its keyed twin). */
export interface BucketSettings {
  capacity: number;
  refillPerSecond: number;
  now?: () => number;
}

export function bucketConfig(options: BucketSettings): BucketConfig {
  assertOptions('options', options);
  if (options === undefined) {
    throw new TypeError(
      'Expected `options` to be an object with `capacity` and `refillPerSecond`, got undefined',
    );
  }
  const { capacity, refillPerSecond, now = defaultNow } = options;
  assertPositiveInteger('capacity', capacity);
  assertPositiveFinite('refillPerSecond', refillPerSecond);
  assertFunction('now', now);
  const clock = now as () => number;
  return {
    capacity,
    rate: refillPerSecond,
    now: clock,
    signals: new SignalHub(),
    scheduler: new BucketScheduler(clock),
    events: null,
  };
}

/**
 * Validates a token count and wait options; throws what `take` rejects with. Shared with
 * KeyedTokenBucket.
 */
export function checkTake(
  capacity: number,
  tokens: unknown,
  options: WaitOptions | undefined,
): void {
  assertPositiveInteger('tokens', tokens);
  if (tokens > capacity) {
    throw new RangeError(
      `Expected \`tokens\` to be at most the capacity (${capacity}), got ${tokens}`,
    );
  }
  assertOptions('options', options);
  if (options?.signal !== undefined) assertSignal('signal', options.signal);
  if (options?.timeout !== undefined) assertTimeout('timeout', options.timeout);
}

export function checkTryTake(capacity: number, tokens: unknown): asserts tokens is number {
  assertPositiveInteger('tokens', tokens);
  if (tokens > capacity) {
    throw new RangeError(
      `Expected \`tokens\` to be at most the capacity (${capacity}), got ${tokens}`,
    );
  }
}
