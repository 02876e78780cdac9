import type { LimiterListener, Observable } from './events.js';
import { defaultNow } from './internal/clock.js';
import { EventHub } from './internal/event-hub.js';
import { assertAcquireOptions, SemaphoreCore, SignalHub } from './internal/semaphore-core.js';
import { assertCount, assertFunction, assertLimit, assertOptions } from './internal/validate.js';
import { limiterKind } from './limiter-kind.js';
import type { AcquireOptions, Limiter, Permit, SemaphoreStats } from './types.js';

export interface SemaphoreOptions {
  /** Most waiters queued at once; past it `acquire` rejects with `QueueFullError`. Default Infinity; 0 never queues. */
  maxWaiting?: number;
}

/**
 * A counting semaphore: at most `capacity` permits held at once, waiters served in FIFO
 * order (a heavy waiter at the head blocks lighter ones behind it), every wait cancellable.
 *
 * @example
 * const sem = new Semaphore(4);
 * const body = await sem.run(() => fetch(url).then((r) => r.text()), { timeout: 1000 });
 */
export class Semaphore implements Limiter, Observable {
  readonly #core: SemaphoreCore;
  #events: EventHub | undefined;

  constructor(capacity: number, options?: SemaphoreOptions) {
    assertCount('capacity', capacity);
    assertOptions('options', options);
    const maxWaiting = options?.maxWaiting ?? Number.POSITIVE_INFINITY;
    assertLimit('maxWaiting', maxWaiting);
    this.#core = new SemaphoreCore(capacity, maxWaiting, new SignalHub());
  }

  /** The brand adapters read (see `limiterKind`). */
  get [limiterKind](): 'limiter' {
    return 'limiter';
  }

  /**
   * Resolves a `Permit` of `weight` (default 1) once it is this caller's turn. Rejects with
   * `signal.reason` on abort, `TimeoutError` past `timeout` (`timeout: 0` means "do not wait":
   * it rejects at once unless permits are free), `QueueFullError` past `maxWaiting`,
   * `ClosedError` once closed, and RangeError/TypeError for bad arguments.
   */
  acquire(options?: AcquireOptions): Promise<Permit> {
    return this.#core.acquire(options);
  }

  /** A permit now, or undefined (also while anyone waits: no barging). Throws on bad arguments. */
  tryAcquire(weight?: number): Permit | undefined {
    return this.#core.tryAcquire(weight);
  }

  /**
   * Acquire, call `fn` in the caller's async context, release when it settles. `fn` never runs
   * before `run` returns, even with a permit free (the permit is taken at the call; `fn` starts
   * a microtask later), so the caller's next lines run first whatever the load.
   */
  run<T>(fn: () => T | PromiseLike<T>, options?: AcquireOptions): Promise<T> {
    return this.#core.run(fn, undefined, undefined, options);
  }

  /** `fn` limited by this semaphore (each call goes through `run`); `this` and the arguments pass through. */
  wrap<A extends unknown[], R>(
    fn: (...args: A) => R | PromiseLike<R>,
    options?: AcquireOptions,
  ): (...args: A) => Promise<R> {
    assertFunction('fn', fn);
    assertAcquireOptions(options);
    const core = this.#core;
    return function wrapped(this: unknown, ...args: A): Promise<R> {
      return core.run(fn as (...args: unknown[]) => R | PromiseLike<R>, this, args, options);
    };
  }

  /**
   * Change the capacity. Growing serves waiters now, in order. Shrinking revokes nothing:
   * holders keep their permits, nothing is granted until the head's weight fits again, and
   * waiters heavier than the new capacity reject with RangeError. 0 pauses.
   */
  resize(capacity: number): void {
    assertCount('capacity', capacity);
    this.#core.resize(capacity);
  }

  /** Reject every waiter (FIFO) and every later acquire with `ClosedError` (cause: `reason`). Holders may still release. */
  close(reason?: unknown): void {
    this.#core.close(reason);
  }

  /** Resolves once nothing is held and nothing waits (at once if so already). */
  onIdle(): Promise<void> {
    return this.#core.onIdle();
  }

  get capacity(): number {
    return this.#core.capacity;
  }

  /** `capacity - inUse`, never negative. */
  get available(): number {
    return this.#core.available;
  }

  get inUse(): number {
    return this.#core.inUse;
  }

  /** Waiters queued (not their weights). */
  get waiting(): number {
    return this.#core.waiting;
  }

  stats(): SemaphoreStats {
    return this.#core.stats();
  }

  /**
   * Call `listener` with every `acquired`, `released`, `queued` and `rejected` event, in the
   * order they happen, until the returned function is called (idempotent). A listener that
   * throws is reported (`reportError`, else `console.error`) and changes nothing.
   */
  subscribe(listener: LimiterListener): () => void {
    this.#events ??= new EventHub(defaultNow, false, (hub) => {
      this.#core.events = hub;
    });
    return this.#events.subscribe(listener as LimiterListener<unknown>);
  }
}
