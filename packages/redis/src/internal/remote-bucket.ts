// The part RedisTokenBucket and RedisKeyedTokenBucket share: one decision per call, the failure
// policy, the sleep of a reservation, and the events this process's decisions make.

import { TimeoutError, type TryTakeResult, UnavailableError, type WaitOptions } from '@sluice/core';
import type { RedisStore, WhenUnavailable } from '../redis-store.js';
import {
  DENIED,
  type DecisionSink,
  Gcra,
  type GcraReply,
  GRANTED,
  REMAINING,
  RESERVED,
  STATUS,
  WAIT_US,
} from './gcra.js';
import { Listeners, rejectionReason } from './listeners.js';
import {
  assertKeyPart,
  assertObject,
  assertPositiveFinite,
  assertPositiveInteger,
  assertWaitOptions,
  describe,
} from './validate.js';

export interface RemoteBucketOptions {
  name: string;
  capacity: number;
  refillPerSecond: number;
}

/** What the in-memory fallback (`whenUnavailable: 'local'`) offers, keyed or not. */
export interface LocalBucket {
  tryTake(tokens: number): TryTakeResult;
  take(tokens: number, options: WaitOptions): Promise<void>;
}

export class RemoteBucket {
  readonly store: RedisStore;
  readonly name: string;
  readonly capacity: number;
  readonly refillPerSecond: number;
  readonly #gcra: Gcra;
  /** The limiter's subscribers; events of keyed limiters carry the caller's key. */
  readonly listeners: Listeners;

  constructor(store: unknown, options: RemoteBucketOptions, className: string, keyed: boolean) {
    if (!(store instanceof Object) || typeof (store as RedisStore).key !== 'function') {
      throw new TypeError(
        `Expected \`store\` of ${className} to be a RedisStore, got ${describe(store)}`,
      );
    }
    assertObject('options', options);
    const { name, capacity, refillPerSecond } = options;
    assertKeyPart('name', name);
    assertPositiveInteger('capacity', capacity);
    assertPositiveFinite('refillPerSecond', refillPerSecond);
    this.store = store as RedisStore;
    this.name = name;
    this.capacity = capacity;
    this.refillPerSecond = refillPerSecond;
    this.#gcra = new Gcra(this.store, capacity, refillPerSecond);
    this.listeners = new Listeners(keyed);
  }

  /** Throws what a call with these arguments must report. */
  check(tokens: unknown, options?: WaitOptions): asserts tokens is number {
    assertPositiveInteger('tokens', tokens);
    if (tokens > this.capacity) {
      throw new RangeError(
        `Expected \`tokens\` to be at most the capacity (${this.capacity}), got ${tokens}`,
      );
    }
    if (options === undefined) return;
    assertObject('options', options);
    const { signal, timeout } = options as WaitOptions;
    assertWaitOptions(signal, timeout);
  }

  /** `key` is the Redis key; `eventKey` the caller's key, for the events of keyed limiters. */
  tryTake(
    key: string,
    tokens: number,
    local: () => LocalBucket,
    eventKey?: unknown,
  ): Promise<TryTakeResult> {
    const decided = new Promise<TryTakeResult>((resolve, reject) => {
      const sink = new TryTake(this.store.whenUnavailable, tokens, local, resolve, reject);
      this.#gcra.decide(key, tokens, 0, sink);
    });
    if (!this.listeners.active) return decided;
    return decided.then(
      (result) => {
        if (result.ok) {
          this.listeners.emit({ type: 'acquired', weight: tokens, waitedMs: 0 }, eventKey);
        } else this.listeners.rejected('rate_limited', tokens, 0, eventKey);
        return result;
      },
      (error: unknown) => {
        const reason = rejectionReason(error, false) ?? 'unavailable';
        this.listeners.rejected(reason, tokens, 0, eventKey);
        throw error;
      },
    );
  }

  take(
    key: string,
    tokens: number,
    options: WaitOptions | undefined,
    local: () => LocalBucket,
    eventKey?: unknown,
  ): Promise<void> {
    if (!this.listeners.active) return this.#take(key, tokens, options, local, undefined);
    const started = performance.now();
    const waited = () => performance.now() - started;
    return this.#take(key, tokens, options, local, () =>
      this.listeners.emit({ type: 'queued', weight: tokens }, eventKey),
    ).then(
      () => this.listeners.emit({ type: 'acquired', weight: tokens, waitedMs: waited() }, eventKey),
      (error: unknown) => {
        const signal = options?.signal;
        const aborted = signal?.aborted === true && error === signal.reason;
        const reason = rejectionReason(error, aborted) ?? 'unavailable';
        this.listeners.rejected(reason, tokens, waited(), eventKey);
        throw error;
      },
    );
  }

  async #take(
    key: string,
    tokens: number,
    options: WaitOptions | undefined,
    local: () => LocalBucket,
    onQueued: (() => void) | undefined,
  ): Promise<void> {
    const signal = options?.signal;
    const timeout = options?.timeout;
    if (signal?.aborted) throw signal.reason;
    let decision: GcraReply;
    try {
      const decided = new Promise<GcraReply>((resolve, reject) => {
        this.#gcra.decide(key, tokens, timeout, { resolve, reject });
      });
      decision = await abortable(decided, signal);
    } catch (error) {
      if (!(error instanceof UnavailableError) || signal?.aborted) throw error;
      switch (this.store.whenUnavailable) {
        case 'reject':
          throw error;
        case 'allow':
          return;
        case 'local':
          return local().take(tokens, { signal, timeout });
      }
    }
    if (decision[STATUS] === DENIED) {
      const ms = Math.ceil(decision[WAIT_US]! / 1000);
      throw new TimeoutError(
        timeout ?? 0,
        `Timed out: the tokens would come in ${ms} ms, after the ${timeout} ms timeout`,
      );
    }
    // The tokens are ours from the reserved moment on. An abort while sleeping forfeits them:
    // giving them back could let a later request overtake the queue or over-admit.
    if (decision[STATUS] === RESERVED) {
      onQueued?.();
      await sleep(Math.ceil(decision[WAIT_US]! / 1000), signal);
    }
  }
}

/**
 * A tryTake's decision, settled straight from the store's reply (no promise in between): the
 * result, or what the failure policy makes of Redis being unavailable.
 */
class TryTake implements DecisionSink {
  constructor(
    readonly whenUnavailable: WhenUnavailable,
    readonly tokens: number,
    readonly local: () => LocalBucket,
    readonly onResult: (result: TryTakeResult) => void,
    readonly onError: (error: unknown) => void,
  ) {}

  resolve(reply: GcraReply): void {
    this.onResult(
      reply[STATUS] === GRANTED
        ? { ok: true, remaining: reply[REMAINING]! }
        : { ok: false, retryAfterMs: Math.max(1, Math.ceil(reply[WAIT_US]! / 1000)) },
    );
  }

  reject(error: unknown): void {
    if (error instanceof UnavailableError && this.whenUnavailable !== 'reject') {
      if (this.whenUnavailable === 'allow') {
        this.onResult({ ok: true, remaining: 0, degraded: true });
        return;
      }
      try {
        const result = this.local().tryTake(this.tokens);
        this.onResult(result.ok ? { ...result, degraded: true } : result);
      } catch (localError) {
        this.onError(localError);
      }
      return;
    }
    this.onError(error);
  }
}

/**
 * Settles with `work`, or rejects with `signal.reason` as soon as it aborts. A decision already
 * sent runs anyway; if it took tokens, they are forfeited.
 */
function abortable<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return work;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
