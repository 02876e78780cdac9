// The adapters' option words, checked and defaulted once: `concurrency(...)` and `rateLimit(...)`
// mean the same in Express, Hono and NestJS. Framework-neutral and free of core's classes (this
// entry is bundled on its own): a limiter instance is recognised by its brand, and each adapter
// builds its own Semaphore / KeyedSemaphore / KeyedTokenBucket from the settings returned here.
// Callbacks are only checked to be functions; the adapter keeps its typed options for them.

import { limiterKindOf } from '../limiter-kind.js';

/** Requests queued per limit when the adapter creates the limiter from a number. */
export const DEFAULT_MAX_WAITING = 100;
/** Longest wait in the queue, in milliseconds. */
export const DEFAULT_TIMEOUT_MS = 10_000;
/** `Retry-After` seconds on a concurrency refusal (in-flight work has no schedule). */
export const DEFAULT_RETRY_AFTER_S = 1;
/** Policy name of a concurrency limit in RateLimit headers. */
export const DEFAULT_CONCURRENCY_NAME = 'concurrency';
/** Policy name of a rate limit in RateLimit headers. */
export const DEFAULT_RATE_LIMIT_NAME = 'rate-limit';
/** Concurrency limits send RateLimit headers only when asked. */
export const DEFAULT_CONCURRENCY_HEADERS = false;
/** Rate limits send RateLimit headers unless told not to. */
export const DEFAULT_RATE_LIMIT_HEADERS = true;

/** Where the options sit, for messages and defaults. */
export interface SettingsContext {
  /**
   * The options object's name in messages, also the prefix of each option's name
   * (`options.concurrency.reports` -> `options.concurrency.reports.timeout`). Default: the
   * object is `options` and each option goes by its bare name (`timeout`).
   */
  path?: string;
  /** Default policy name (e.g. a named limiter's name). */
  name?: string;
}

/** The concurrency option words, checked and defaulted. */
export interface ConcurrencySettings {
  /**
   * How `limit` was given: `number` (the adapter creates a Semaphore, or a KeyedSemaphore when
   * `key` is given), `limiter` (a shared instance: a Semaphore or any Limiter, in-process or
   * remote) or `keyed-limiter` (a KeyedSemaphore or any KeyedLimiter; `key` is then required).
   */
  readonly limitKind: 'number' | 'limiter' | 'keyed-limiter';
  /** A per-client limit (refusals are 429): a number with `key`, or a KeyedSemaphore. */
  readonly keyed: boolean;
  /** Only meaningful with a number `limit`: an instance's own `maxWaiting` bounds its queue. */
  readonly maxWaiting: number;
  readonly timeout: number;
  readonly headers: boolean;
  readonly name: string;
  readonly retryAfter: number;
}

/** The rate-limit option words, checked and defaulted. */
export interface RateLimitSettings {
  /** A `limiter` (a KeyedTokenBucket or another RateLimiter) was given: use it, do not create one. */
  readonly shared: boolean;
  /** The bucket's: the option's, or the shared limiter's own. */
  readonly capacity: number;
  readonly refillPerSecond: number;
  /** Only when the adapter creates the bucket (undefined: core's default). */
  readonly maxKeys: number | undefined;
  readonly headers: boolean;
  readonly name: string;
}

/** A value as it reads in a message: strings quoted, objects by kind. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'function') return 'a function';
  if (value === null) return 'null';
  if (typeof value === 'object') return Array.isArray(value) ? 'an array' : 'an object';
  return String(value);
}

/** A plain options object (not null, not an array). */
export function assertOptionsObject(name: string, value: unknown): asserts value is object {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(
      `Expected \`${name}\` to be an options object, got ${describeValue(value)}`,
    );
  }
}

/** A policy or limiter name: a token of letters, digits and `_-.` (it goes into headers). */
export function assertPolicyName(name: string, value: unknown): asserts value is string {
  if (typeof value !== 'string' || !/^[A-Za-z0-9_.-]+$/.test(value)) {
    throw new TypeError(
      `Expected \`${name}\` to be a non-empty string of letters, digits, "_", "-" or ".", got ${describeValue(value)}`,
    );
  }
}

function checkNumber(
  name: string,
  value: unknown,
  expected: string,
  ok: (n: number) => boolean,
): number {
  if (typeof value !== 'number') {
    throw new TypeError(
      `Expected \`${name}\` to be ${expected}, got ${describeValue(value)} (${typeof value})`,
    );
  }
  if (!ok(value)) {
    throw new RangeError(`Expected \`${name}\` to be ${expected}, got ${describeValue(value)}`);
  }
  return value;
}

const isCount = (n: number): boolean => Number.isInteger(n) && n >= 0;
const isQueueLength = (n: number): boolean => n === Number.POSITIVE_INFINITY || isCount(n);
const isNonNegativeFinite = (n: number): boolean => Number.isFinite(n) && n >= 0;
const isPositiveFinite = (n: number): boolean => Number.isFinite(n) && n > 0;
const isPositiveInteger = (n: number): boolean => Number.isInteger(n) && n >= 1;

function checkFunction(name: string, value: unknown): void {
  if (value !== undefined && typeof value !== 'function') {
    throw new TypeError(
      `Expected \`${name}\` to be a function, got ${describeValue(value)} (${typeof value})`,
    );
  }
}

function checkBoolean(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') {
    throw new TypeError(
      `Expected \`${name}\` to be a boolean, got ${describeValue(value)} (${typeof value})`,
    );
  }
  return value;
}

function namer(context: SettingsContext | undefined): (option: string) => string {
  const path = context?.path;
  return path === undefined ? (option) => option : (option) => `${path}.${option}`;
}

type Shape = Record<string, unknown>;

// A limiter instance is told apart by the brand core's limiters carry (`limiterKind`, a global
// symbol, so the ESM and CJS copies agree), never by its shape. An unbranded object with an
// `acquire` method is taken as a plain Limiter: a user's own limiter need not know the brand.
function instanceKind(value: unknown): 'limiter' | 'keyed-limiter' | undefined {
  const kind = limiterKindOf(value);
  if (kind === 'limiter' || kind === 'keyed-limiter') return kind;
  if (kind === undefined && typeof (value as Shape | null)?.acquire === 'function') {
    return 'limiter';
  }
  return undefined;
}

const LIMIT_EXPECTED = 'an integer >= 0, a Semaphore, a KeyedSemaphore or a Limiter';

/**
 * Checks the option words of `concurrency(options)` (`limit`, `maxWaiting`, `timeout`, `key`,
 * `weight`, `skip`, `onRejected`, `classify`, `headers`, `name`, `retryAfter`) and applies the
 * defaults.
 * Throws a TypeError (wrong type, conflicting options) or RangeError (a number out of range)
 * naming the option and the value. `maxWaiting` together with a limiter instance is a
 * TypeError: the instance's own `maxWaiting` bounds its queue.
 */
export function resolveConcurrencySettings(
  options: unknown,
  context?: SettingsContext,
): ConcurrencySettings {
  const at = namer(context);
  assertOptionsObject(context?.path ?? 'options', options);
  const o = options as Shape;
  for (const callback of ['key', 'weight', 'skip', 'onRejected', 'classify']) {
    checkFunction(at(callback), o[callback]);
  }
  const hasKey = o.key !== undefined;

  let limitKind: ConcurrencySettings['limitKind'];
  const { limit } = o;
  if (typeof limit === 'number') {
    checkNumber(at('limit'), limit, LIMIT_EXPECTED, isCount);
    limitKind = 'number';
  } else if (instanceKind(limit) !== undefined) {
    limitKind = instanceKind(limit)!;
    if (o.maxWaiting !== undefined) {
      throw new TypeError(
        `Expected \`${at('maxWaiting')}\` to be left out when \`${at('limit')}\` is a limiter instance (set \`maxWaiting\` on the instance), got ${describeValue(o.maxWaiting)}`,
      );
    }
    if (limitKind === 'keyed-limiter' && !hasKey) {
      throw new TypeError(
        `Expected \`${at('key')}\` to be a function when \`${at('limit')}\` is a KeyedSemaphore, got undefined`,
      );
    }
    if (limitKind === 'limiter' && hasKey) {
      throw new TypeError(
        `Expected \`${at('key')}\` to be left out when \`${at('limit')}\` is a shared limiter (a per-client limit needs a number or a KeyedSemaphore), got a function`,
      );
    }
  } else {
    throw new TypeError(
      `Expected \`${at('limit')}\` to be ${LIMIT_EXPECTED}, got ${describeValue(limit)}`,
    );
  }

  const maxWaiting =
    o.maxWaiting === undefined
      ? DEFAULT_MAX_WAITING
      : checkNumber(at('maxWaiting'), o.maxWaiting, 'an integer >= 0 or Infinity', isQueueLength);
  const timeout =
    o.timeout === undefined
      ? DEFAULT_TIMEOUT_MS
      : checkNumber(at('timeout'), o.timeout, 'a finite number >= 0', isNonNegativeFinite);
  const retryAfter =
    o.retryAfter === undefined
      ? DEFAULT_RETRY_AFTER_S
      : checkNumber(at('retryAfter'), o.retryAfter, 'a finite number > 0', isPositiveFinite);
  const headers = checkBoolean(at('headers'), o.headers, DEFAULT_CONCURRENCY_HEADERS);
  const name = o.name ?? context?.name ?? DEFAULT_CONCURRENCY_NAME;
  assertPolicyName(at('name'), name);
  return {
    limitKind,
    keyed: limitKind === 'keyed-limiter' || (limitKind === 'number' && hasKey),
    maxWaiting,
    timeout,
    headers,
    name,
    retryAfter,
  };
}

/**
 * Checks the option words of `rateLimit(options)` (`capacity`, `refillPerSecond`, `limiter`,
 * `maxKeys`, `key`, `cost`, `skip`, `onRejected`, `headers`, `name`) and applies the defaults.
 * With a shared `limiter` (a KeyedTokenBucket), its capacity and rate apply; a `capacity` or
 * `refillPerSecond` given too must equal them (RangeError), and `maxKeys` must be left out.
 */
export function resolveRateLimitSettings(
  options: unknown,
  context?: SettingsContext,
): RateLimitSettings {
  const at = namer(context);
  assertOptionsObject(context?.path ?? 'options', options);
  const o = options as Shape;
  for (const callback of ['key', 'cost', 'skip', 'onRejected']) {
    checkFunction(at(callback), o[callback]);
  }

  let capacity: number;
  let refillPerSecond: number;
  let maxKeys: number | undefined;
  const shared = o.limiter !== undefined;
  if (shared) {
    const limiter = o.limiter as Shape | null;
    // A RateLimiter carries its brand (a KeyedTokenBucket, a remote one); an unbranded object
    // of the right shape is taken too, one branded as another kind of limiter is not.
    const kind = limiterKindOf(limiter);
    if (
      typeof limiter !== 'object' ||
      limiter === null ||
      (kind !== undefined && kind !== 'rate-limiter') ||
      typeof limiter.tryTake !== 'function' ||
      typeof limiter.capacity !== 'number' ||
      typeof limiter.refillPerSecond !== 'number'
    ) {
      throw new TypeError(
        `Expected \`${at('limiter')}\` to be a KeyedTokenBucket, got ${describeValue(o.limiter)}`,
      );
    }
    capacity = limiter.capacity;
    refillPerSecond = limiter.refillPerSecond;
    for (const [option, own] of [
      ['capacity', capacity],
      ['refillPerSecond', refillPerSecond],
    ] as const) {
      const given = o[option];
      if (given !== undefined && given !== own) {
        throw new RangeError(
          `Expected \`${at(option)}\` to equal the \`${at('limiter')}\`'s ${own} (or be left out), got ${describeValue(given)}`,
        );
      }
    }
    if (o.maxKeys !== undefined) {
      throw new TypeError(
        `Expected \`${at('maxKeys')}\` to be left out when \`${at('limiter')}\` is given (set \`maxKeys\` on the instance), got ${describeValue(o.maxKeys)}`,
      );
    }
  } else {
    const required = ' (required unless `limiter` is given)';
    capacity = checkNumber(
      at('capacity'),
      o.capacity,
      `a positive integer${o.capacity === undefined ? required : ''}`,
      isPositiveInteger,
    );
    refillPerSecond = checkNumber(
      at('refillPerSecond'),
      o.refillPerSecond,
      `a finite number > 0${o.refillPerSecond === undefined ? required : ''}`,
      isPositiveFinite,
    );
    if (o.maxKeys !== undefined) {
      maxKeys = checkNumber(at('maxKeys'), o.maxKeys, 'an integer >= 0 or Infinity', isQueueLength);
    }
  }
  const headers = checkBoolean(at('headers'), o.headers, DEFAULT_RATE_LIMIT_HEADERS);
  const name = o.name ?? context?.name ?? DEFAULT_RATE_LIMIT_NAME;
  assertPolicyName(at('name'), name);
  return { shared, capacity, refillPerSecond, maxKeys, headers, name };
}
