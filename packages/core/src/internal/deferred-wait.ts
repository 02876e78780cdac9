// A wait that a signal or a timeout can end: JobScheduler's spawns waiting for a pending slot,
// its wait() calls, and BoundedQueue's join(). It is its own abort listener (no closure per
// wait) and sits in an intrusive list, so it leaves in O(1) and leaves no listener or timer.

import { TimeoutError } from '../errors.js';
import type { WaitOptions } from '../types.js';
import { clearTimer, setTimer, type TimerHandle } from './clock.js';
import type { QueueWaiterList, QueueWaiterNode } from './queue-waiters.js';

// setTimeout fires at once for delays above 2^31 - 1 ms; longer waits re-arm when it fires.
const MAX_TIMER_MS = 2_147_483_647;

/** Why a wait ended without being settled by its owner. */
export type LeaveCause = 'abort' | 'timeout';

/**
 * Waits in `list` until its owner settles it, unless `ready` already (options checked by the
 * caller): an aborted signal rejects at once, `timeout: 0` rejects at once with TimeoutError.
 */
export function waitUntilSettled(
  list: QueueWaiterList<DeferredWait<void>>,
  what: string,
  options: WaitOptions | undefined,
  ready: boolean,
): Promise<void> {
  if (options?.signal?.aborted) return Promise.reject(options.signal.reason);
  if (ready) return Promise.resolve();
  if (options?.timeout === 0) {
    return Promise.reject(new TimeoutError(0, `${what} timed out after 0 ms`));
  }
  return new DeferredWait<void>(list, undefined, what, options?.signal, options?.timeout).promise;
}

export class DeferredWait<V, P = undefined> implements QueueWaiterNode {
  prev: this | undefined = undefined;
  next: this | undefined = undefined;
  linked = false;
  readonly promise: Promise<V>;
  #resolve!: (value: V) => void;
  #reject!: (reason: unknown) => void;
  #signal: AbortSignal | undefined = undefined;
  #timer: TimerHandle | undefined = undefined;
  #timeoutMs = 0;
  #remainingMs = 0;

  /**
   * Queues the wait in `list`. `what` names it in a TimeoutError ("JobScheduler spawn");
   * `onLeave` runs after an abort or a timeout took it out of the list.
   */
  constructor(
    readonly list: QueueWaiterList<DeferredWait<V, P>>,
    readonly payload: P,
    readonly what: string,
    signal: AbortSignal | undefined,
    timeout: number | undefined,
    readonly onLeave?: (wait: DeferredWait<V, P>, cause: LeaveCause) => void,
  ) {
    this.promise = new Promise<V>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    list.push(this);
    if (signal !== undefined) {
      this.#signal = signal;
      signal.addEventListener('abort', this);
    }
    if (timeout !== undefined) {
      this.#timeoutMs = timeout;
      this.#arm(timeout);
    }
  }

  /** Unlinks the wait and resolves it (the owner decided). */
  settle(value: V): void {
    this.list.remove(this);
    this.#cleanup();
    this.#resolve(value);
  }

  /** Unlinks the wait and rejects it (the owner decided, e.g. on close). */
  fail(reason: unknown): void {
    this.list.remove(this);
    this.#cleanup();
    this.#reject(reason);
  }

  // The abort listener: `signal.addEventListener('abort', wait)`.
  handleEvent(): void {
    if (!this.linked) return;
    this.fail((this.#signal as AbortSignal).reason);
    this.onLeave?.(this, 'abort');
  }

  #arm(ms: number): void {
    const chunk = Math.min(ms, MAX_TIMER_MS);
    this.#remainingMs = ms - chunk;
    this.#timer = setTimer(() => this.#onTimer(), chunk);
  }

  #onTimer(): void {
    this.#timer = undefined;
    if (!this.linked) return;
    if (this.#remainingMs > 0) {
      this.#arm(this.#remainingMs);
      return;
    }
    const ms = this.#timeoutMs;
    this.fail(new TimeoutError(ms, `${this.what} timed out after ${ms} ms`));
    this.onLeave?.(this, 'timeout');
  }

  #cleanup(): void {
    if (this.#signal !== undefined) {
      this.#signal.removeEventListener('abort', this);
      this.#signal = undefined;
    }
    if (this.#timer !== undefined) {
      clearTimer(this.#timer);
      this.#timer = undefined;
    }
  }
}
