import { describe, expect, it } from 'vitest';
import { KeyedSemaphore } from '../keyed-semaphore.js';
import { KeyedTokenBucket } from '../keyed-token-bucket.js';
import { limiterKind } from '../limiter-kind.js';
import { Semaphore } from '../semaphore.js';
import {
  assertOptionsObject,
  assertPolicyName,
  DEFAULT_CONCURRENCY_HEADERS,
  DEFAULT_CONCURRENCY_NAME,
  DEFAULT_MAX_WAITING,
  DEFAULT_RATE_LIMIT_HEADERS,
  DEFAULT_RATE_LIMIT_NAME,
  DEFAULT_RETRY_AFTER_S,
  DEFAULT_TIMEOUT_MS,
  describeValue,
  resolveConcurrencySettings,
  resolveRateLimitSettings,
} from './index.js';

const fn = () => 'k';

describe('defaults', () => {
  it('are the documented numbers', () => {
    expect(DEFAULT_MAX_WAITING).toBe(100);
    expect(DEFAULT_TIMEOUT_MS).toBe(10_000);
    expect(DEFAULT_RETRY_AFTER_S).toBe(1);
    expect(DEFAULT_CONCURRENCY_NAME).toBe('concurrency');
    expect(DEFAULT_RATE_LIMIT_NAME).toBe('rate-limit');
    expect(DEFAULT_CONCURRENCY_HEADERS).toBe(false);
    expect(DEFAULT_RATE_LIMIT_HEADERS).toBe(true);
  });

  it('fill a bare concurrency config', () => {
    expect(resolveConcurrencySettings({ limit: 4 })).toEqual({
      limitKind: 'number',
      keyed: false,
      maxWaiting: 100,
      timeout: 10_000,
      headers: false,
      name: 'concurrency',
      retryAfter: 1,
    });
  });

  it('fill a bare rate-limit config', () => {
    expect(resolveRateLimitSettings({ capacity: 5, refillPerSecond: 1 })).toEqual({
      shared: false,
      capacity: 5,
      refillPerSecond: 1,
      maxKeys: undefined,
      headers: true,
      name: 'rate-limit',
    });
  });

  it('the context names the default policy; an explicit `name` wins', () => {
    expect(resolveConcurrencySettings({ limit: 1 }, { name: 'reports' }).name).toBe('reports');
    expect(resolveConcurrencySettings({ limit: 1, name: 'x' }, { name: 'reports' }).name).toBe('x');
    expect(
      resolveRateLimitSettings({ capacity: 1, refillPerSecond: 1 }, { name: 'api' }).name,
    ).toBe('api');
  });
});

describe('resolveConcurrencySettings: given values', () => {
  it('keeps every valid value', () => {
    const onRejected = () => undefined;
    expect(
      resolveConcurrencySettings({
        limit: 0,
        maxWaiting: 0,
        timeout: 0,
        headers: true,
        name: 'work.v1_a-b',
        retryAfter: 2.5,
        key: fn,
        weight: () => 1,
        skip: () => false,
        onRejected,
      }),
    ).toEqual({
      limitKind: 'number',
      keyed: true,
      maxWaiting: 0,
      timeout: 0,
      headers: true,
      name: 'work.v1_a-b',
      retryAfter: 2.5,
    });
    expect(resolveConcurrencySettings({ limit: 1, maxWaiting: Infinity }).maxWaiting).toBe(
      Infinity,
    );
  });

  it('tells a shared limiter from a per-client one', () => {
    expect(resolveConcurrencySettings({ limit: new Semaphore(2) })).toMatchObject({
      limitKind: 'limiter',
      keyed: false,
    });
    expect(resolveConcurrencySettings({ limit: new KeyedSemaphore(2), key: fn })).toMatchObject({
      limitKind: 'keyed-limiter',
      keyed: true,
    });
    // Any object with acquire and tryAcquire is a Limiter.
    const custom = { acquire: async () => undefined, tryAcquire: () => undefined };
    expect(resolveConcurrencySettings({ limit: custom }).limitKind).toBe('limiter');
  });

  it('takes remote limiters by their brand: a Limiter without tryAcquire, a KeyedLimiter', () => {
    const remote = { [limiterKind]: 'limiter', acquire: async () => undefined };
    expect(resolveConcurrencySettings({ limit: remote }).limitKind).toBe('limiter');
    const keyedRemote = { [limiterKind]: 'keyed-limiter', acquire: async () => undefined };
    expect(resolveConcurrencySettings({ limit: keyedRemote, key: fn })).toMatchObject({
      limitKind: 'keyed-limiter',
      keyed: true,
    });
    expect(resolveConcurrencySettings({ limit: 2, classify: () => 'drop' }).limitKind).toBe(
      'number',
    );
  });
});

describe('resolveConcurrencySettings: bad values name the option and the value', () => {
  const cases: [string, unknown, ErrorConstructor, RegExp][] = [
    [
      'options undefined',
      undefined,
      TypeError,
      /^Expected `options` to be an options object, got undefined$/,
    ],
    ['options null', null, TypeError, /`options` to be an options object, got null/],
    ['options array', [], TypeError, /`options` to be an options object, got an array/],
    [
      'limit missing',
      {},
      TypeError,
      /^Expected `limit` to be an integer >= 0, a Semaphore, a KeyedSemaphore or a Limiter, got undefined$/,
    ],
    ['limit -1', { limit: -1 }, RangeError, /^Expected `limit` to be an integer >= 0.*, got -1$/],
    ['limit 1.5', { limit: 1.5 }, RangeError, /`limit`.*got 1\.5$/],
    ['limit NaN', { limit: Number.NaN }, RangeError, /`limit`.*got NaN$/],
    ['limit Infinity', { limit: Infinity }, RangeError, /`limit`.*got Infinity$/],
    ['limit string', { limit: '4' }, TypeError, /`limit`.*got "4"/],
    ['limit object', { limit: {} }, TypeError, /`limit`.*got an object$/],
    [
      'maxWaiting -1',
      { limit: 1, maxWaiting: -1 },
      RangeError,
      /^Expected `maxWaiting` to be an integer >= 0 or Infinity, got -1$/,
    ],
    ['maxWaiting 1.5', { limit: 1, maxWaiting: 1.5 }, RangeError, /`maxWaiting`.*got 1\.5$/],
    [
      'maxWaiting string',
      { limit: 1, maxWaiting: '8' },
      TypeError,
      /`maxWaiting`.*got "8" \(string\)$/,
    ],
    [
      'maxWaiting with an instance',
      { limit: new Semaphore(1), maxWaiting: 3 },
      TypeError,
      /^Expected `maxWaiting` to be left out when `limit` is a limiter instance.*got 3$/,
    ],
    [
      'maxWaiting with a KeyedSemaphore',
      { limit: new KeyedSemaphore(1), key: fn, maxWaiting: 0 },
      TypeError,
      /`maxWaiting` to be left out.*got 0$/,
    ],
    [
      'timeout -1',
      { limit: 1, timeout: -1 },
      RangeError,
      /^Expected `timeout` to be a finite number >= 0, got -1$/,
    ],
    ['timeout NaN', { limit: 1, timeout: Number.NaN }, RangeError, /`timeout`.*got NaN$/],
    ['timeout Infinity', { limit: 1, timeout: Infinity }, RangeError, /`timeout`.*got Infinity$/],
    ['timeout string', { limit: 1, timeout: '1s' }, TypeError, /`timeout`.*got "1s"/],
    [
      'retryAfter 0',
      { limit: 1, retryAfter: 0 },
      RangeError,
      /^Expected `retryAfter` to be a finite number > 0, got 0$/,
    ],
    [
      'retryAfter Infinity',
      { limit: 1, retryAfter: Infinity },
      RangeError,
      /`retryAfter`.*got Infinity$/,
    ],
    ['retryAfter null', { limit: 1, retryAfter: null }, TypeError, /`retryAfter`.*got null/],
    [
      'key string',
      { limit: 1, key: 'ip' },
      TypeError,
      /^Expected `key` to be a function, got "ip" \(string\)$/,
    ],
    ['weight number', { limit: 1, weight: 2 }, TypeError, /`weight` to be a function, got 2/],
    ['skip boolean', { limit: 1, skip: true }, TypeError, /`skip` to be a function, got true/],
    [
      'onRejected object',
      { limit: 1, onRejected: {} },
      TypeError,
      /`onRejected` to be a function, got an object/,
    ],
    [
      'classify a string',
      { limit: 1, classify: 'drop' },
      TypeError,
      /^Expected `classify` to be a function, got "drop" \(string\)$/,
    ],
    [
      'headers string',
      { limit: 1, headers: 'yes' },
      TypeError,
      /^Expected `headers` to be a boolean, got "yes" \(string\)$/,
    ],
    [
      'name with a space',
      { limit: 1, name: 'a b' },
      TypeError,
      /`name` to be a non-empty string.*got "a b"$/,
    ],
    ['name empty', { limit: 1, name: '' }, TypeError, /`name`.*got ""$/],
    ['name number', { limit: 1, name: 5 }, TypeError, /`name`.*got 5$/],
    [
      'KeyedSemaphore without key',
      { limit: new KeyedSemaphore(1) },
      TypeError,
      /^Expected `key` to be a function when `limit` is a KeyedSemaphore, got undefined$/,
    ],
    [
      'key with a shared Semaphore',
      { limit: new Semaphore(1), key: fn },
      TypeError,
      /^Expected `key` to be left out when `limit` is a shared limiter/,
    ],
  ];
  it.each(cases)('%s', (_label, options, type, message) => {
    expect(() => resolveConcurrencySettings(options)).toThrow(type);
    expect(() => resolveConcurrencySettings(options)).toThrow(message);
  });

  it('a path prefixes every option name', () => {
    const at = { path: 'options.concurrency.reports' };
    expect(() => resolveConcurrencySettings(null, at)).toThrow(
      /`options\.concurrency\.reports` to be an options object/,
    );
    expect(() => resolveConcurrencySettings({ limit: 1, timeout: -1 }, at)).toThrow(
      /^Expected `options\.concurrency\.reports\.timeout` to be a finite number >= 0, got -1$/,
    );
    expect(() =>
      resolveConcurrencySettings({ limit: new Semaphore(1), maxWaiting: 1 }, at),
    ).toThrow(
      /`options\.concurrency\.reports\.maxWaiting` to be left out when `options\.concurrency\.reports\.limit`/,
    );
  });
});

describe('resolveRateLimitSettings', () => {
  it('keeps every valid value', () => {
    expect(
      resolveRateLimitSettings({
        capacity: 10,
        refillPerSecond: 0.5,
        maxKeys: 1000,
        headers: false,
        name: 'api',
        key: fn,
        cost: () => 1,
        skip: () => false,
        onRejected: () => undefined,
      }),
    ).toEqual({
      shared: false,
      capacity: 10,
      refillPerSecond: 0.5,
      maxKeys: 1000,
      headers: false,
      name: 'api',
    });
  });

  it('a shared limiter brings its own capacity and rate; equal ones may be repeated', () => {
    const limiter = new KeyedTokenBucket({ capacity: 5, refillPerSecond: 2 });
    expect(resolveRateLimitSettings({ limiter })).toMatchObject({
      shared: true,
      capacity: 5,
      refillPerSecond: 2,
      maxKeys: undefined,
    });
    expect(resolveRateLimitSettings({ limiter, capacity: 5, refillPerSecond: 2 }).shared).toBe(
      true,
    );
  });

  const bucket = new KeyedTokenBucket({ capacity: 5, refillPerSecond: 1 });
  const cases: [string, unknown, ErrorConstructor, RegExp][] = [
    ['options null', null, TypeError, /^Expected `options` to be an options object, got null$/],
    ['options number', 3, TypeError, /`options`.*got 3$/],
    [
      'capacity missing',
      { refillPerSecond: 1 },
      TypeError,
      /^Expected `capacity` to be a positive integer \(required unless `limiter` is given\), got undefined \(undefined\)$/,
    ],
    [
      'capacity 0',
      { capacity: 0, refillPerSecond: 1 },
      RangeError,
      /^Expected `capacity` to be a positive integer, got 0$/,
    ],
    ['capacity 2.5', { capacity: 2.5, refillPerSecond: 1 }, RangeError, /`capacity`.*got 2\.5$/],
    ['capacity string', { capacity: '5', refillPerSecond: 1 }, TypeError, /`capacity`.*got "5"/],
    [
      'refillPerSecond missing',
      { capacity: 5 },
      TypeError,
      /^Expected `refillPerSecond` to be a finite number > 0 \(required unless `limiter` is given\), got undefined/,
    ],
    [
      'refillPerSecond 0',
      { capacity: 5, refillPerSecond: 0 },
      RangeError,
      /^Expected `refillPerSecond` to be a finite number > 0, got 0$/,
    ],
    [
      'refillPerSecond -1',
      { capacity: 5, refillPerSecond: -1 },
      RangeError,
      /`refillPerSecond`.*got -1$/,
    ],
    [
      'refillPerSecond Infinity',
      { capacity: 5, refillPerSecond: Infinity },
      RangeError,
      /`refillPerSecond`.*got Infinity$/,
    ],
    [
      'maxKeys -1',
      { capacity: 5, refillPerSecond: 1, maxKeys: -1 },
      RangeError,
      /^Expected `maxKeys` to be an integer >= 0 or Infinity, got -1$/,
    ],
    [
      'maxKeys string',
      { capacity: 5, refillPerSecond: 1, maxKeys: '9' },
      TypeError,
      /`maxKeys`.*got "9"/,
    ],
    [
      'limiter not a bucket',
      { limiter: {} },
      TypeError,
      /^Expected `limiter` to be a KeyedTokenBucket, got an object$/,
    ],
    [
      'limiter branded as another kind',
      {
        limiter: {
          [limiterKind]: 'limiter',
          tryTake: () => ({ ok: true, remaining: 0 }),
          capacity: 1,
          refillPerSecond: 1,
        },
      },
      TypeError,
      /^Expected `limiter` to be a KeyedTokenBucket, got an object$/,
    ],
    [
      'limiter a Semaphore',
      { limiter: new Semaphore(1) },
      TypeError,
      /`limiter` to be a KeyedTokenBucket/,
    ],
    ['limiter null', { limiter: null }, TypeError, /`limiter`.*got null$/],
    [
      'capacity differs from the limiter',
      { limiter: bucket, capacity: 6 },
      RangeError,
      /^Expected `capacity` to equal the `limiter`'s 5 \(or be left out\), got 6$/,
    ],
    [
      'refillPerSecond differs from the limiter',
      { limiter: bucket, refillPerSecond: 2 },
      RangeError,
      /^Expected `refillPerSecond` to equal the `limiter`'s 1 \(or be left out\), got 2$/,
    ],
    [
      'maxKeys with a limiter',
      { limiter: bucket, maxKeys: 10 },
      TypeError,
      /^Expected `maxKeys` to be left out when `limiter` is given.*got 10$/,
    ],
    [
      'key string',
      { capacity: 5, refillPerSecond: 1, key: 'ip' },
      TypeError,
      /^Expected `key` to be a function, got "ip" \(string\)$/,
    ],
    [
      'cost number',
      { capacity: 5, refillPerSecond: 1, cost: 1 },
      TypeError,
      /`cost` to be a function, got 1/,
    ],
    [
      'skip boolean',
      { capacity: 5, refillPerSecond: 1, skip: false },
      TypeError,
      /`skip` to be a function, got false/,
    ],
    [
      'onRejected object',
      { capacity: 5, refillPerSecond: 1, onRejected: {} },
      TypeError,
      /`onRejected` to be a function/,
    ],
    [
      'headers number',
      { capacity: 5, refillPerSecond: 1, headers: 1 },
      TypeError,
      /^Expected `headers` to be a boolean, got 1 \(number\)$/,
    ],
    [
      'name empty',
      { capacity: 5, refillPerSecond: 1, name: '' },
      TypeError,
      /`name` to be a non-empty string.*got ""$/,
    ],
  ];
  it.each(cases)('%s', (_label, options, type, message) => {
    expect(() => resolveRateLimitSettings(options)).toThrow(type);
    expect(() => resolveRateLimitSettings(options)).toThrow(message);
  });

  it('a path prefixes every option name', () => {
    expect(() =>
      resolveRateLimitSettings({ capacity: 5, refillPerSecond: 0 }, { path: '@RateLimit()' }),
    ).toThrow(/^Expected `@RateLimit\(\)\.refillPerSecond` to be a finite number > 0, got 0$/);
  });
});

describe('helpers', () => {
  it('describeValue reads like the value', () => {
    expect(describeValue('a')).toBe('"a"');
    expect(describeValue(1n)).toBe('1n');
    expect(describeValue(fn)).toBe('a function');
    expect(describeValue(null)).toBe('null');
    expect(describeValue([])).toBe('an array');
    expect(describeValue({})).toBe('an object');
    expect(describeValue(undefined)).toBe('undefined');
    expect(describeValue(Number.NaN)).toBe('NaN');
  });

  it('assertOptionsObject and assertPolicyName accept good values and name bad ones', () => {
    expect(() => assertOptionsObject('opts', {})).not.toThrow();
    expect(() => assertOptionsObject('opts', 'x')).toThrow(
      /`opts` to be an options object, got "x"/,
    );
    expect(() => assertPolicyName('name', 'a.b_c-1')).not.toThrow();
    expect(() => assertPolicyName('name', 'é')).toThrow(/`name`.*got "é"/);
  });
});
