import { describe, expectTypeOf, it } from 'vitest';
import type { LimiterEvent, LimiterListener, Observable, RejectedReason } from './events.js';
import { KeyedSemaphore } from './keyed-semaphore.js';
import { KeyedTokenBucket } from './keyed-token-bucket.js';
import { Lock } from './lock.js';
import { Semaphore } from './semaphore.js';
import { TokenBucket } from './token-bucket.js';

describe('event types', () => {
  it('every limiter is Observable; keyed ones with their key type', () => {
    expectTypeOf(new Semaphore(1)).toExtend<Observable>();
    expectTypeOf(new Lock()).toExtend<Observable>();
    expectTypeOf(new TokenBucket({ capacity: 1, refillPerSecond: 1 })).toExtend<Observable>();
    expectTypeOf(new KeyedSemaphore<number>(1)).toExtend<Observable<number>>();
    expectTypeOf(new KeyedTokenBucket<string>({ capacity: 1, refillPerSecond: 1 })).toExtend<
      Observable<string>
    >();
    expectTypeOf(new Semaphore(1).subscribe(() => {})).toEqualTypeOf<() => void>();
  });

  it('listeners narrow on type; keyed events carry their key', () => {
    new KeyedSemaphore<number>(1).subscribe((event) => {
      expectTypeOf(event).toEqualTypeOf<LimiterEvent<number>>();
      if (event.type === 'rejected') {
        expectTypeOf(event.reason).toEqualTypeOf<RejectedReason>();
        expectTypeOf(event.key).toEqualTypeOf<number | undefined>();
      }
    });
    new Semaphore(1).subscribe((event) => {
      if (event.type === 'released') expectTypeOf(event.heldMs).toEqualTypeOf<number>();
      if (event.type === 'acquired') expectTypeOf(event.key).toEqualTypeOf<undefined>();
    });
    expectTypeOf<LimiterListener<string>>().parameter(0).toEqualTypeOf<LimiterEvent<string>>();
  });
});
