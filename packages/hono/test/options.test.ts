import { KeyedSemaphore, KeyedTokenBucket, Semaphore } from '@sluice/core';
import { describe, expect, it } from 'vitest';
import { concurrency, rateLimit } from '../src/index.js';

describe('bad options fail at creation with a message naming the option and the value', () => {
  const concurrencyCases: [string, unknown, RegExp][] = [
    ['no options', undefined, /Expected `options` to be an options object, got undefined/],
    ['no limit', {}, /`limit` to be an integer >= 0, a Semaphore.*got undefined/],
    ['limit -1', { limit: -1 }, /`limit` to be an integer >= 0.*got -1/],
    ['limit 1.5', { limit: 1.5 }, /`limit` to be an integer >= 0.*got 1.5/],
    ['limit string', { limit: '4' }, /`limit` to be an integer >= 0.*got "4"/],
    ['limit object', { limit: {} }, /`limit` to be an integer >= 0, a Semaphore.*got an object/],
    [
      'maxWaiting -1',
      { limit: 1, maxWaiting: -1 },
      /`maxWaiting` to be an integer >= 0 or Infinity, got -1/,
    ],
    [
      'maxWaiting on an instance',
      { limit: new Semaphore(1), maxWaiting: 3 },
      /`maxWaiting` to be left out when `limit` is a limiter instance.*got 3/,
    ],
    [
      'timeout NaN',
      { limit: 1, timeout: Number.NaN },
      /`timeout` to be a finite number >= 0, got NaN/,
    ],
    [
      'timeout Infinity',
      { limit: 1, timeout: Number.POSITIVE_INFINITY },
      /`timeout`.*got Infinity/,
    ],
    ['retryAfter 0', { limit: 1, retryAfter: 0 }, /`retryAfter` to be a finite number > 0, got 0/],
    ['key not a function', { limit: 1, key: 'ip' }, /`key` to be a function, got "ip"/],
    ['weight not a function', { limit: 1, weight: 2 }, /`weight` to be a function, got 2/],
    ['skip not a function', { limit: 1, skip: true }, /`skip` to be a function, got true/],
    ['onRejected not a function', { limit: 1, onRejected: {} }, /`onRejected` to be a function/],
    ['headers not a boolean', { limit: 1, headers: 'yes' }, /`headers` to be a boolean, got "yes"/],
    ['bad name', { limit: 1, name: 'a b' }, /`name` to be a non-empty string.*got "a b"/],
    [
      'KeyedSemaphore without key',
      { limit: new KeyedSemaphore(1) },
      /`key` to be a function when `limit` is a KeyedSemaphore, got undefined/,
    ],
    [
      'key with a shared Semaphore',
      { limit: new Semaphore(1), key: () => 'k' },
      /`key` to be left out when `limit` is a shared limiter/,
    ],
  ];
  for (const [label, options, message] of concurrencyCases) {
    it(`concurrency: ${label}`, () => {
      expect(() => concurrency(options as never)).toThrow(message);
    });
  }

  const rateCases: [string, unknown, RegExp][] = [
    ['no options', null, /Expected `options` to be an options object, got null/],
    [
      'no capacity',
      { refillPerSecond: 1 },
      /`capacity` to be a positive integer \(required unless `limiter` is given\), got undefined/,
    ],
    [
      'capacity 0',
      { capacity: 0, refillPerSecond: 1 },
      /`capacity` to be a positive integer, got 0/,
    ],
    [
      'refill negative',
      { capacity: 5, refillPerSecond: -1 },
      /`refillPerSecond` to be a finite number > 0, got -1/,
    ],
    [
      'refill Infinity',
      { capacity: 5, refillPerSecond: Number.POSITIVE_INFINITY },
      /`refillPerSecond`.*got Infinity/,
    ],
    ['limiter not a bucket', { limiter: {} }, /`limiter` to be a KeyedTokenBucket, got an object/],
    [
      'capacity differs from limiter',
      { limiter: new KeyedTokenBucket({ capacity: 5, refillPerSecond: 1 }), capacity: 6 },
      /`capacity` to equal the `limiter`'s 5 \(or be left out\), got 6/,
    ],
    [
      'key not a function',
      { capacity: 5, refillPerSecond: 1, key: 'ip' },
      /`key` to be a function, got "ip"/,
    ],
    [
      'getConnInfo not a function',
      { capacity: 5, refillPerSecond: 1, getConnInfo: 1 },
      /`getConnInfo` to be a function, got 1/,
    ],
    [
      'cost not a function',
      { capacity: 5, refillPerSecond: 1, cost: 1 },
      /`cost` to be a function/,
    ],
    [
      'headers not a boolean',
      { capacity: 5, refillPerSecond: 1, headers: 1 },
      /`headers` to be a boolean/,
    ],
  ];
  for (const [label, options, message] of rateCases) {
    it(`rateLimit: ${label}`, () => {
      expect(() => rateLimit(options as never)).toThrow(message);
    });
  }

  it('throws TypeError for wrong types and RangeError for out-of-range numbers', () => {
    expect(() => concurrency({ limit: -1 })).toThrow(RangeError);
    expect(() => concurrency({ limit: 'x' as never })).toThrow(TypeError);
    expect(() => rateLimit({ capacity: 1, refillPerSecond: 0 })).toThrow(RangeError);
  });

  it('exposes the limiter it admits through', () => {
    const sem = new Semaphore(3);
    expect(concurrency({ limit: sem }).limiter).toBe(sem);
    const created = concurrency({ limit: 2, maxWaiting: 5 }).limiter;
    expect(created).toBeInstanceOf(Semaphore);
    expect((created as Semaphore).stats()).toMatchObject({ capacity: 2, inUse: 0 });
    expect(concurrency({ limit: 2, key: () => 'k' }).limiter).toBeInstanceOf(KeyedSemaphore);
    const bucket = new KeyedTokenBucket<string>({ capacity: 5, refillPerSecond: 1 });
    expect(rateLimit({ limiter: bucket }).limiter).toBe(bucket);
    expect(rateLimit({ capacity: 5, refillPerSecond: 2 }).limiter.refillPerSecond).toBe(2);
  });

  it('good options build a middleware', () => {
    expect(typeof concurrency({ limit: 2 })).toBe('function');
    // 0 is a valid limit (everything waits until the limiter is resized), as in core.
    expect((concurrency({ limit: 0 }).limiter as Semaphore).capacity).toBe(0);
    expect(typeof concurrency({ limit: 2, key: () => 'k', maxWaiting: 0, timeout: 0 })).toBe(
      'function',
    );
    expect(typeof concurrency({ limit: new KeyedSemaphore<string>(1), key: () => 'k' })).toBe(
      'function',
    );
    expect(typeof rateLimit({ capacity: 1, refillPerSecond: 0.5 })).toBe('function');
  });
});
