import { describe, expectTypeOf, it } from 'vitest';
import { KeyedTokenBucket } from './keyed-token-bucket.js';
import { TokenBucket } from './token-bucket.js';
import type { TryTakeResult } from './types.js';

describe('TokenBucket types', () => {
  it('tryTake narrows on ok', () => {
    const bucket = new TokenBucket({ capacity: 1, refillPerSecond: 1 });
    const result = bucket.tryTake();
    expectTypeOf(result).toEqualTypeOf<TryTakeResult>();
    if (result.ok) expectTypeOf(result.remaining).toBeNumber();
    else expectTypeOf(result.retryAfterMs).toBeNumber();
    // @ts-expect-error only a refused take has retryAfterMs
    void result.retryAfterMs;
  });

  it('take resolves void and accepts wait options', () => {
    const bucket = new TokenBucket({ capacity: 1, refillPerSecond: 1, now: () => 0 });
    expectTypeOf(bucket.take(1, { signal: AbortSignal.timeout(10), timeout: 5 })).toEqualTypeOf<
      Promise<void>
    >();
    // @ts-expect-error weight is a Semaphore option, not a bucket one
    void bucket.take(1, { weight: 2 });
  });

  it('requires capacity and refillPerSecond', () => {
    // @ts-expect-error refillPerSecond is required
    void new TokenBucket({ capacity: 1 });
  });

  it('KeyedTokenBucket keys are typed', () => {
    const byString = new KeyedTokenBucket({ capacity: 1, refillPerSecond: 1 });
    byString.tryTake('client');
    // @ts-expect-error the default key type is string
    byString.tryTake(42);
    const byNumber = new KeyedTokenBucket<number>({ capacity: 1, refillPerSecond: 1, maxKeys: 10 });
    expectTypeOf(byNumber.take(42)).toEqualTypeOf<Promise<void>>();
    expectTypeOf(byNumber.size).toBeNumber();
  });
});
