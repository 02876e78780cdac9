// The Job a JobScheduler hands out. It lives in one of the scheduler's intrusive lists at a
// time (pending, then active), so cancel and settle are O(1) and need no Set.

import type { Job, JobStatus } from '../job.js';
import type { QueueWaiterNode } from './queue-waiters.js';

/** What a job needs from its scheduler. */
export interface JobHost {
  /** A pending job was cancelled: unlink it and let a waiting spawn in. */
  cancelPending(job: ScheduledJob<unknown>): void;
  /** The job's function returned or threw. */
  settle(job: ScheduledJob<unknown>, ok: boolean, outcome: unknown): void;
  /** A rejection that nobody has claimed yet: onError gets it unless result() comes first. */
  unclaimed(job: ScheduledJob<unknown>): void;
}

export type JobFunction<T> = (signal: AbortSignal) => T | PromiseLike<T>;

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as PromiseLike<unknown>).then === 'function'
  );
}

function defaultCancelReason(): DOMException {
  return new DOMException('The job was cancelled', 'AbortError');
}

/** The reaction of a queued job's start promise (one shared function, no closure per job). */
export function startQueued(job: ScheduledJob<unknown>): void {
  job.invoke();
}

export class ScheduledJob<T> implements Job<T>, QueueWaiterNode {
  prev: this | undefined = undefined;
  next: this | undefined = undefined;
  linked = false;
  state: JobStatus = 'pending';
  fn: JobFunction<T> | undefined;
  /** Resolves the start promise made at spawn time, so the job runs in the spawner's context. */
  go: ((job: ScheduledJob<unknown>) => void) | undefined = undefined;
  /** Created only when the function declares a parameter: an AbortSignal costs ~4 µs. */
  controller: AbortController | undefined = undefined;
  cancelled = false;
  cancelReason: unknown = undefined;
  outcome: unknown = undefined;
  /** True once someone called result(), or once onError had the error. */
  claimed = false;
  /** When it queued or took its slot: kept only while the scheduler has a listener (events). */
  at: number | undefined = undefined;
  #deferred:
    | { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void }
    | undefined = undefined;

  constructor(
    readonly host: JobHost,
    fn: JobFunction<T>,
  ) {
    this.fn = fn;
  }

  get status(): JobStatus {
    return this.state;
  }

  result(): Promise<T> {
    this.claimed = true;
    switch (this.state) {
      case 'fulfilled':
        return Promise.resolve(this.outcome as T);
      case 'rejected':
      case 'cancelled':
        return Promise.reject(this.outcome);
      default: {
        if (this.#deferred === undefined) {
          let resolve!: (v: T) => void;
          let reject!: (e: unknown) => void;
          const promise = new Promise<T>((res, rej) => {
            resolve = res;
            reject = rej;
          });
          this.#deferred = { promise, resolve, reject };
        }
        return this.#deferred.promise;
      }
    }
  }

  cancel(reason?: unknown): void {
    if (this.cancelled) return;
    const state = this.state;
    if (state !== 'pending' && state !== 'active') return;
    this.cancelled = true;
    this.cancelReason = reason === undefined ? defaultCancelReason() : reason;
    if (state === 'pending') {
      this.fn = undefined;
      this.go = undefined;
      this.finish('cancelled', this.cancelReason);
      this.host.cancelPending(this as ScheduledJob<unknown>);
    } else {
      this.controller?.abort(this.cancelReason);
    }
  }

  /** Calls the function; the scheduler has already counted the job as active. */
  invoke(): void {
    const fn = this.fn as JobFunction<T>;
    this.fn = undefined;
    this.go = undefined;
    const host = this.host;
    const self = this as ScheduledJob<unknown>;
    // Cancelled between its grant and this call (it starts a microtask after the grant): it
    // never starts, and gives its slot back as a cancelled job.
    if (this.cancelled) {
      host.settle(self, false, this.cancelReason);
      return;
    }
    let result: T | PromiseLike<T>;
    try {
      // A function that declares no parameter cannot read the signal (arrow functions have no
      // `arguments`), so it gets none and the job costs no AbortController.
      result = fn.length === 0 ? (fn as () => T | PromiseLike<T>)() : fn(this.#signal());
    } catch (error) {
      host.settle(self, false, error);
      return;
    }
    if (isPromiseLike(result)) {
      Promise.resolve(result).then(
        (value) => host.settle(self, true, value),
        (error) => host.settle(self, false, error),
      );
    } else {
      host.settle(self, true, result);
    }
  }

  /** Records the outcome and tells a result() caller; the scheduler did the counting. */
  finish(state: 'fulfilled' | 'rejected' | 'cancelled', outcome: unknown): void {
    this.state = state;
    this.outcome = outcome;
    const deferred = this.#deferred;
    this.#deferred = undefined;
    if (state === 'fulfilled') {
      deferred?.resolve(outcome as T);
    } else if (deferred !== undefined) {
      deferred.reject(outcome);
    } else if (state === 'rejected' && !this.claimed) {
      this.host.unclaimed(this as ScheduledJob<unknown>);
    }
  }

  #signal(): AbortSignal {
    const controller = new AbortController();
    this.controller = controller;
    return controller.signal;
  }
}
