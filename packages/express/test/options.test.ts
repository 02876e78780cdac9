import { KeyedSemaphore, KeyedTokenBucket, Semaphore } from '@sluice/core';
import { describe, expect, it } from 'vitest';
import { concurrency, rateLimit } from '../src/index.js';

describe('bad options fail when the middleware is created, naming the option', () => {
  it.each([
    ['options', undefined, TypeError],
    ['limit', { limit: -1 }, RangeError],
    ['limit', { limit: 1.5 }, RangeError],
    ['limit', { limit: '4' }, TypeError],
    ['limit', { limit: {} }, TypeError],
    ['limit', {}, TypeError],
    ['maxWaiting', { limit: 1, maxWaiting: -1 }, RangeError],
    ['maxWaiting', { limit: 1, maxWaiting: '8' }, TypeError],
    ['maxWaiting', { limit: new Semaphore(1), maxWaiting: 3 }, TypeError],
    ['timeout', { limit: 1, timeout: Number.NaN }, RangeError],
    ['timeout', { limit: 1, timeout: -5 }, RangeError],
    ['key', { limit: 1, key: 'ip' }, TypeError],
    ['key', { limit: new KeyedSemaphore(1) }, TypeError],
    ['key', { limit: new Semaphore(1), key: () => 'a' }, TypeError],
    ['weight', { limit: 1, weight: 2 }, TypeError],
    ['skip', { limit: 1, skip: true }, TypeError],
    ['onRejected', { limit: 1, onRejected: 'x' }, TypeError],
    ['headers', { limit: 1, headers: 'yes' }, TypeError],
    ['name', { limit: 1, name: 'has space' }, TypeError],
    ['retryAfter', { limit: 1, retryAfter: 0 }, RangeError],
  ])('concurrency: `%s`', (name, options, type) => {
    expect(() => concurrency(options as never)).toThrow(type);
    expect(() => concurrency(options as never)).toThrow(`\`${name}\``);
  });

  it.each([
    ['options', null, TypeError],
    ['capacity', { refillPerSecond: 1 }, TypeError],
    ['capacity', { capacity: 0, refillPerSecond: 1 }, RangeError],
    ['capacity', { capacity: 2.5, refillPerSecond: 1 }, RangeError],
    ['refillPerSecond', { capacity: 5 }, TypeError],
    ['refillPerSecond', { capacity: 5, refillPerSecond: 0 }, RangeError],
    ['refillPerSecond', { capacity: 5, refillPerSecond: Number.POSITIVE_INFINITY }, RangeError],
    ['key', { capacity: 5, refillPerSecond: 1, key: 'ip' }, TypeError],
    ['cost', { capacity: 5, refillPerSecond: 1, cost: 1 }, TypeError],
    ['skip', { capacity: 5, refillPerSecond: 1, skip: false }, TypeError],
    ['onRejected', { capacity: 5, refillPerSecond: 1, onRejected: {} }, TypeError],
    ['headers', { capacity: 5, refillPerSecond: 1, headers: 1 }, TypeError],
    ['name', { capacity: 5, refillPerSecond: 1, name: '' }, TypeError],
    ['limiter', { capacity: 5, refillPerSecond: 1, limiter: new Semaphore(1) }, TypeError],
    [
      'capacity',
      { capacity: 5, limiter: new KeyedTokenBucket({ capacity: 2, refillPerSecond: 1 }) },
      RangeError,
    ],
    [
      'refillPerSecond',
      { refillPerSecond: 2, limiter: new KeyedTokenBucket({ capacity: 2, refillPerSecond: 1 }) },
      RangeError,
    ],
  ])('rateLimit: `%s`', (name, options, type) => {
    expect(() => rateLimit(options as never)).toThrow(type);
    expect(() => rateLimit(options as never)).toThrow(`\`${name}\``);
  });

  it('good options build named middleware exposing its limiter', () => {
    const work = concurrency({ limit: 4 });
    expect(work.name).toBe('sluiceConcurrency');
    expect(work.limiter).toBeInstanceOf(Semaphore);
    expect(concurrency({ limit: 4, key: (req) => String(req.ip) }).limiter).toBeInstanceOf(
      KeyedSemaphore,
    );
    const shared = new Semaphore(2);
    expect(concurrency({ limit: shared }).limiter).toBe(shared);
    const limit = rateLimit({ capacity: 5, refillPerSecond: 1 });
    expect(limit.name).toBe('sluiceRateLimit');
    expect(limit.limiter).toBeInstanceOf(KeyedTokenBucket);
  });

  it('maxWaiting applies to a Semaphore the middleware creates', () => {
    const work = concurrency({ limit: 0, maxWaiting: 0 });
    return expect((work.limiter as Semaphore).acquire()).rejects.toMatchObject({
      code: 'QUEUE_FULL',
    });
  });
});
