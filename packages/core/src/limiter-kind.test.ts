import { describe, expect, it } from 'vitest';
import { KeyedSemaphore } from './keyed-semaphore.js';
import { KeyedTokenBucket } from './keyed-token-bucket.js';
import { limiterKind, limiterKindOf } from './limiter-kind.js';
import { Lock } from './lock.js';
import { Semaphore } from './semaphore.js';
import { TokenBucket } from './token-bucket.js';

describe('limiterKind', () => {
  it('is the global symbol, so every copy of core reads the same brand', () => {
    expect(limiterKind).toBe(Symbol.for('sluice.limiterKind'));
  });

  it("brands core's limiters by what adapters may do with them", () => {
    expect(limiterKindOf(new Semaphore(1))).toBe('limiter');
    expect(limiterKindOf(new Lock())).toBe('limiter');
    expect(limiterKindOf(new KeyedSemaphore(1))).toBe('keyed-limiter');
    expect(limiterKindOf(new KeyedTokenBucket({ capacity: 1, refillPerSecond: 1 }))).toBe(
      'rate-limiter',
    );
    // One bucket, not one per key: not something `rateLimit({ limiter })` can use.
    expect(limiterKindOf(new TokenBucket({ capacity: 1, refillPerSecond: 1 }))).toBeUndefined();
  });

  it("reads a user's own brand, and nothing from look-alikes", () => {
    const own = { [limiterKind]: 'keyed-limiter', acquire: async () => undefined };
    expect(limiterKindOf(own)).toBe('keyed-limiter');
    // Shape alone says nothing: this has a Semaphore's methods but no brand.
    expect(limiterKindOf({ acquire() {}, tryAcquire() {} })).toBeUndefined();
    expect(limiterKindOf({ [limiterKind]: 'semaphore' })).toBeUndefined();
    for (const value of [undefined, null, 0, 'limiter', Symbol('x')]) {
      expect(limiterKindOf(value)).toBeUndefined();
    }
  });

  it('costs an instance nothing: the brand is a getter on the prototype', () => {
    expect(Object.getOwnPropertySymbols(new Semaphore(1))).not.toContain(limiterKind);
  });
});
