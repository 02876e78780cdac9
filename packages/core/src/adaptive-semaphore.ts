import { gradient2 } from './gradient2.js';
import { defaultNow } from './internal/clock.js';
import { type Grant, SemaphoreCore, SignalHub } from './internal/semaphore-core.js';
import {
  assertFunction,
  assertLimit,
  assertOptions,
  assertPositiveInteger,
  describe,
} from './internal/validate.js';
import { limiterKind } from './limiter-kind.js';
import { isOverload } from './overload.js';
import type {
  AcquireOptions,
  AdaptivePermit,
  LimitAlgorithm,
  Limiter,
  LimitSample,
  Permit,
  SemaphoreStats,
} from './types.js';

export interface AdaptiveSemaphoreOptions {
  /** How the limit moves with each sample. Default `gradient2()`. Give each semaphore its own instance. */
  algorithm?: LimitAlgorithm;
  /** The limit before any sample. Default 20 (clamped into `[minLimit, maxLimit]`). */
  initialLimit?: number;
  /** The limit never goes below this; also the largest weight an acquire may ask for. Default 1. */
  minLimit?: number;
  /** The limit never goes above this. Default 1000. */
  maxLimit?: number;
  /** Most waiters queued at once; past it `acquire` rejects with `QueueFullError`. Default Infinity. */
  maxWaiting?: number;
  /** Clock in milliseconds for the round-trip samples. Default `performance.now()`. */
  now?: () => number;
  /** Called each time the limit changes, after the change took effect. */
  onLimitChange?: (limit: number, previous: number) => void;
}

/** Errors of user callbacks in the release path must not break the caller's `finally`. */
function report(error: unknown): void {
  const globals = globalThis as { reportError?: (error: unknown) => void };
  if (typeof globals.reportError === 'function') globals.reportError(error);
  else console.error(error);
}

/** A permit of an AdaptiveSemaphore: the first of release/drop/ignore counts, the rest do nothing. */
class AdaptiveGrant implements AdaptivePermit {
  readonly #owner: LimitController;
  readonly #grant: Grant;
  readonly #start: number;
  readonly #inFlight: number;
  #done = false;

  constructor(owner: LimitController, grant: Grant, start: number, inFlight: number) {
    this.#owner = owner;
    this.#grant = grant;
    this.#start = start;
    this.#inFlight = inFlight;
  }

  get weight(): number {
    return this.#grant.weight;
  }

  get released(): boolean {
    return this.#done;
  }

  release(): void {
    this.#settle(false, true);
  }

  drop(): void {
    this.#settle(true, true);
  }

  ignore(): void {
    this.#settle(false, false);
  }

  [Symbol.dispose](): void {
    this.release();
  }

  #settle(dropped: boolean, sample: boolean): void {
    if (this.#done) return;
    this.#done = true;
    // The sample moves the limit first, so that a shrink it causes already applies to the
    // permit given back now; then the permit goes to the head waiter if it fits.
    if (sample) {
      const rtt = Math.max(this.#owner.now() - this.#start, 0);
      this.#owner.sample({ rtt, inFlight: this.#inFlight, dropped });
    }
    this.#grant.release();
  }
}

const DEFAULT_INITIAL_LIMIT = 20;
const DEFAULT_MAX_LIMIT = 1000;

/** The limit and what moves it; shared by the semaphore and its permits. */
class LimitController {
  readonly core: SemaphoreCore;
  readonly algorithm: LimitAlgorithm;
  readonly minLimit: number;
  readonly maxLimit: number;
  readonly now: () => number;
  readonly onLimitChange: ((limit: number, previous: number) => void) | undefined;
  /** The algorithm's own value, clamped but not rounded: small steps add up. */
  estimate: number;

  constructor(
    core: SemaphoreCore,
    algorithm: LimitAlgorithm,
    minLimit: number,
    maxLimit: number,
    now: () => number,
    onLimitChange: ((limit: number, previous: number) => void) | undefined,
  ) {
    this.core = core;
    this.algorithm = algorithm;
    this.minLimit = minLimit;
    this.maxLimit = maxLimit;
    this.now = now;
    this.onLimitChange = onLimitChange;
    this.estimate = core.capacity;
  }

  /** Wraps a grant of the core, stamping when it started and what was in flight then. */
  wrap = (permit: Permit): AdaptivePermit =>
    new AdaptiveGrant(this, permit as Grant, this.now(), this.core.inUse);

  sample(sample: LimitSample): void {
    let next: number;
    try {
      next = this.algorithm.update(sample, this.estimate);
    } catch (error) {
      report(error);
      return;
    }
    // A broken algorithm (NaN, Infinity, not a number) leaves the limit alone.
    if (typeof next !== 'number' || !Number.isFinite(next)) return;
    this.estimate = Math.min(Math.max(next, this.minLimit), this.maxLimit);
    const limit = Math.floor(this.estimate);
    if (limit !== this.core.capacity) this.setLimit(limit);
  }

  /**
   * The one place the limit changes. Growing serves waiters now, in order; shrinking revokes
   * nothing and rejects nobody (every queued weight is at most `minLimit`, so it fits again).
   */
  setLimit(limit: number): void {
    const core = this.core;
    const previous = core.capacity;
    core.capacity = limit;
    if (limit > previous) core.drain();
    if (this.onLimitChange !== undefined) {
      try {
        this.onLimitChange(limit, previous);
      } catch (error) {
        report(error);
      }
    }
  }

  weightError(weight: number): RangeError {
    return new RangeError(
      `Expected \`weight\` to be at most \`minLimit\` (${this.minLimit}), got ${describe(weight)}`,
    );
  }
}

function assertLimitOption(name: string, value: unknown): asserts value is number {
  if (typeof value !== 'number') {
    throw new TypeError(
      `Expected \`${name}\` to be a number, got ${describe(value)} (${typeof value})`,
    );
  }
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`Expected \`${name}\` to be an integer >= 1, got ${describe(value)}`);
  }
}

/**
 * A semaphore whose limit is found from latency: each permit given back is a sample of the
 * downstream's health (its round trip, the work in flight when it started, whether it saw
 * overload), and a `LimitAlgorithm` moves the limit from those samples. FIFO, cancellation and
 * close behave as in `Semaphore`. Shrinking never revokes a held permit: it grants nothing until
 * `inUse` falls under the new limit.
 *
 * @example
 * const db = new AdaptiveSemaphore({ algorithm: gradient2(), maxWaiting: 100 });
 * const rows = await db.run(() => pool.query(sql), { timeout: 500 });
 */
export class AdaptiveSemaphore implements Limiter {
  readonly #control: LimitController;

  constructor(options?: AdaptiveSemaphoreOptions) {
    assertOptions('options', options);
    const minLimit = options?.minLimit ?? 1;
    assertLimitOption('minLimit', minLimit);
    const maxLimit = options?.maxLimit ?? Math.max(DEFAULT_MAX_LIMIT, minLimit);
    assertLimitOption('maxLimit', maxLimit);
    if (maxLimit < minLimit) {
      throw new RangeError(
        `Expected \`maxLimit\` to be at least \`minLimit\` (${minLimit}), got ${maxLimit}`,
      );
    }
    const initialLimit = options?.initialLimit ?? DEFAULT_INITIAL_LIMIT;
    assertLimitOption('initialLimit', initialLimit);
    const maxWaiting = options?.maxWaiting ?? Number.POSITIVE_INFINITY;
    assertLimit('maxWaiting', maxWaiting);
    const algorithm = options?.algorithm ?? gradient2();
    if (
      typeof algorithm !== 'object' ||
      algorithm === null ||
      typeof algorithm.update !== 'function'
    ) {
      throw new TypeError(
        `Expected \`algorithm\` to be an object with an \`update\` method, got ${describe(algorithm)}`,
      );
    }
    const now = options?.now ?? defaultNow;
    assertFunction('now', now);
    const onLimitChange = options?.onLimitChange;
    if (onLimitChange !== undefined) assertFunction('onLimitChange', onLimitChange);
    const limit = Math.min(Math.max(initialLimit, minLimit), maxLimit);
    const core = new SemaphoreCore(limit, maxWaiting, new SignalHub());
    this.#control = new LimitController(core, algorithm, minLimit, maxLimit, now, onLimitChange);
  }

  /** The brand adapters read (see `limiterKind`). */
  get [limiterKind](): 'limiter' {
    return 'limiter';
  }

  /**
   * Resolves an `AdaptivePermit` of `weight` (default 1) once it is this caller's turn. Rejects
   * as `Semaphore.acquire` does; a weight above `minLimit` rejects with RangeError (the limit may
   * shrink to `minLimit`, and a waiter that no longer fits would block everyone behind it).
   */
  acquire(options?: AcquireOptions): Promise<AdaptivePermit> {
    const control = this.#control;
    const weight = (options as AcquireOptions | undefined)?.weight;
    if (typeof weight === 'number' && Number.isInteger(weight) && weight > control.minLimit) {
      return Promise.reject(control.weightError(weight));
    }
    return control.core.acquire(options).then(control.wrap);
  }

  /** A permit now, or undefined (also while anyone waits: no barging). Throws on bad arguments. */
  tryAcquire(weight?: number): AdaptivePermit | undefined {
    const control = this.#control;
    if (weight !== undefined) {
      assertPositiveInteger('weight', weight);
      if (weight > control.minLimit) throw control.weightError(weight);
    }
    const grant = control.core.tryAcquire(weight);
    return grant === undefined ? undefined : control.wrap(grant);
  }

  /**
   * Acquire, then call `fn` (always in a later microtask, in the caller's async context), and
   * give the permit back when it settles: fulfilled is a sample; a rejection that `isOverload`
   * recognises (a TimeoutError, or an error marked `overload: true`) is a drop; any other
   * rejection is ignored (a failure says nothing about the downstream's latency).
   */
  run<T>(fn: () => T | PromiseLike<T>, options?: AcquireOptions): Promise<T> {
    if (typeof fn !== 'function') {
      return Promise.reject(
        new TypeError(`Expected \`fn\` to be a function, got ${describe(fn)} (${typeof fn})`),
      );
    }
    return this.acquire(options).then(async (permit) => {
      let result: T;
      try {
        result = await fn();
      } catch (error) {
        if (isOverload(error)) permit.drop();
        else permit.ignore();
        throw error;
      }
      permit.release();
      return result;
    });
  }

  /** Reject every waiter (FIFO) and every later acquire with `ClosedError` (cause: `reason`). Holders may still release. */
  close(reason?: unknown): void {
    this.#control.core.close(reason);
  }

  /** The current limit: how many permits may be held at once. */
  get limit(): number {
    return this.#control.core.capacity;
  }

  /** The same as `limit`, under the name Semaphore uses (adapters read it for RateLimit headers). */
  get capacity(): number {
    return this.#control.core.capacity;
  }

  get inUse(): number {
    return this.#control.core.inUse;
  }

  /** `limit - inUse`, never negative (0 while a shrink waits for holders to leave). */
  get available(): number {
    return this.#control.core.available;
  }

  /** Waiters queued (not their weights). */
  get waiting(): number {
    return this.#control.core.waiting;
  }

  stats(): SemaphoreStats & { limit: number } {
    const core = this.#control.core;
    return { ...core.stats(), limit: core.capacity };
  }
}
