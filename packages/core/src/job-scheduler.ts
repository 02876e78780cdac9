import { ClosedError, TimeoutError } from './errors.js';
import type { LimiterListener } from './events.js';
import { clearTimer, defaultNow, setTimer, type TimerHandle } from './internal/clock.js';
import { DeferredWait, type LeaveCause, waitUntilSettled } from './internal/deferred-wait.js';
import { EventHub } from './internal/event-hub.js';
import { QueueWaiterList } from './internal/queue-waiters.js';
import {
  type JobFunction,
  type JobHost,
  ScheduledJob,
  startQueued,
} from './internal/scheduled-job.js';
import {
  assertFunction,
  assertLimit,
  assertOptions,
  assertSignal,
  assertTimeout,
  describe,
} from './internal/validate.js';
import type { Job } from './job.js';
import type { WaitOptions } from './types.js';

/** Options of `new JobScheduler(options)`. */
export interface JobSchedulerOptions {
  /** Most jobs running at once: a positive integer, or Infinity. Required. */
  limit: number;
  /**
   * Most jobs accepted but not yet running; past it `spawn` waits (backpressure). An integer
   * >= 0 or Infinity, default 10 000 (as aiojobs). 0: `spawn` waits until the job can start.
   */
  pendingLimit?: number;
  /**
   * Receives every job failure nobody claimed with `job.result()`, exactly once. Default: log
   * to `console.error` with the job. An error it throws goes to `reportError` (or the console).
   */
  onError?: (error: unknown, job: Job<unknown>) => void;
}

/** Gauges and counters of a JobScheduler. */
export interface JobSchedulerStats {
  limit: number;
  pendingLimit: number;
  /** Jobs running now. */
  active: number;
  /** Jobs accepted, waiting for a slot. */
  pending: number;
  /** `spawn` calls waiting for a pending slot (not accepted yet). */
  waiting: number;
  /** Highest `active` seen. */
  maxActive: number;
  /** Highest `pending` seen. */
  maxPending: number;
  /** Jobs accepted (each `spawn` that resolved). */
  spawned: number;
  /** Jobs whose function returned. */
  fulfilled: number;
  /** Jobs whose function threw or rejected (other than with its own abort reason). */
  rejected: number;
  /** Jobs cancelled before they started, or that stopped on their signal's abort. */
  cancelled: number;
  /** Rejections nobody claimed, handed to `onError`. */
  unhandled: number;
  /** `spawn` waits that ended by their `timeout`. */
  timedOut: number;
  /** `spawn` waits that ended by their `signal`. */
  aborted: number;
}

const DEFAULT_PENDING_LIMIT = 10_000;

type AnyJob = ScheduledJob<unknown>;
type SpawnWait = DeferredWait<Job<unknown>, AnyJob>;
type IdleWait = DeferredWait<void>;

function defaultOnError(error: unknown, job: Job<unknown>): void {
  console.error('JobScheduler: a job failed and nobody awaited its result()', error, job);
}

function report(error: unknown): void {
  const reportError = (globalThis as { reportError?: (e: unknown) => void }).reportError;
  if (typeof reportError === 'function') reportError(error);
  else console.error(error);
}

function checkWaitOptions(options: unknown): WaitOptions | undefined {
  assertOptions('options', options);
  if (options === undefined) return undefined;
  const { signal, timeout } = options as WaitOptions;
  if (signal !== undefined) assertSignal('options.signal', signal);
  if (timeout !== undefined) assertTimeout('options.timeout', timeout);
  return options as WaitOptions;
}

function closedError(): ClosedError {
  return new ClosedError(undefined, 'JobScheduler is closed');
}

/**
 * Runs background jobs with at most `limit` at once and at most `pendingLimit` accepted but
 * waiting; past that, `spawn` waits (backpressure). Errors nobody awaits go to `onError`, never
 * to `unhandledRejection`; `close()` stops accepting work and lets what was accepted finish,
 * aborting what is left at its timeout. aiojobs for Node.
 *
 * @example
 * const scheduler = new JobScheduler({ limit: 10, pendingLimit: 1000 });
 * await scheduler.spawn((signal) => sendWebhook(event, { signal }));
 * // on shutdown:
 * await scheduler.close({ timeout: 10_000 });
 */
export class JobScheduler {
  readonly #limit: number;
  readonly #pendingLimit: number;
  readonly #onError: (error: unknown, job: Job<unknown>) => void;
  readonly #pending = new QueueWaiterList<AnyJob>();
  readonly #running = new QueueWaiterList<AnyJob>();
  readonly #spawns = new QueueWaiterList<SpawnWait>();
  readonly #idle = new QueueWaiterList<IdleWait>();
  #active = 0;
  #hub: EventHub | undefined;
  /** The hub while somebody listens, else null: one null check per event point. */
  #events: EventHub | null = null;
  #closed = false;
  #closing: Promise<void> | undefined = undefined;
  #closeResolve: (() => void) | undefined = undefined;
  #closeTimer: TimerHandle | undefined = undefined;
  // Rejections waiting one macrotask for a result() call before they go to onError.
  #unclaimed: AnyJob[] = [];
  #unclaimedTimer: TimerHandle | undefined = undefined;
  #maxActive = 0;
  #maxPending = 0;
  #spawned = 0;
  #fulfilled = 0;
  #rejected = 0;
  #cancelled = 0;
  #unhandled = 0;
  #timedOut = 0;
  #aborted = 0;
  // What the jobs call back; kept off the public surface.
  readonly #host: JobHost = {
    cancelPending: (job) => this.#cancelPending(job),
    settle: (job, ok, outcome) => this.#settle(job, ok, outcome),
    unclaimed: (job) => this.#addUnclaimed(job),
  };
  readonly #onSpawnLeave = (wait: SpawnWait, cause: LeaveCause): void => {
    if (cause === 'timeout') this.#timedOut++;
    else this.#aborted++;
    this.#events?.left(
      wait.payload,
      cause === 'timeout' ? 'queue_timeout' : 'aborted',
      1,
      undefined,
    );
    this.#checkIdle();
  };

  constructor(options: JobSchedulerOptions) {
    if (typeof options !== 'object' || options === null) {
      throw new TypeError(
        `Expected \`options\` to be an object with \`limit\`, got ${describe(options)}`,
      );
    }
    const { limit, pendingLimit = DEFAULT_PENDING_LIMIT, onError = defaultOnError } = options;
    if (typeof limit !== 'number') {
      throw new TypeError(
        `Expected \`limit\` to be a number, got ${describe(limit)} (${typeof limit})`,
      );
    }
    if (limit !== Number.POSITIVE_INFINITY && (!Number.isInteger(limit) || limit < 1)) {
      throw new RangeError(
        `Expected \`limit\` to be a positive integer or Infinity, got ${describe(limit)}`,
      );
    }
    assertLimit('pendingLimit', pendingLimit);
    assertFunction('onError', onError);
    this.#limit = limit;
    this.#pendingLimit = pendingLimit;
    this.#onError = onError;
  }

  /** Jobs running now. */
  get active(): number {
    return this.#active;
  }

  /** Jobs accepted and waiting for a slot. */
  get pending(): number {
    return this.#pending.length;
  }

  /** True once `close()` was called: `spawn` rejects with `ClosedError`. */
  get closed(): boolean {
    return this.#closed;
  }

  get limit(): number {
    return this.#limit;
  }

  get pendingLimit(): number {
    return this.#pendingLimit;
  }

  /**
   * Accepts `fn` as a job and resolves the `Job`: it is active at once (its slot taken at the
   * call, `fn` called a microtask later) if fewer than `limit` run, else it is pending. While
   * `pendingLimit` jobs are pending, waits for a slot, in FIFO order (the backpressure);
   * `signal` and `timeout` bound that wait only: once accepted, cancel the job with
   * `job.cancel()`. `fn` runs in the caller's async context and receives an AbortSignal (when
   * it declares a parameter) that aborts on `job.cancel()` or at the close timeout. Rejects
   * with `ClosedError` once closed, `TimeoutError` past `timeout` (`0`: do not wait),
   * `signal.reason` on abort, and TypeError/RangeError for bad arguments.
   */
  spawn<T>(
    fn: (signal: AbortSignal) => T | PromiseLike<T>,
    options?: WaitOptions,
  ): Promise<Job<T>> {
    let wait: WaitOptions | undefined;
    try {
      assertFunction('fn', fn);
      wait = checkWaitOptions(options);
    } catch (error) {
      return Promise.reject(error);
    }
    if (wait?.signal?.aborted) {
      this.#events?.refused('aborted', 1, undefined);
      return Promise.reject(wait.signal.reason);
    }
    if (this.#closed) {
      this.#events?.refused('closed', 1, undefined);
      return Promise.reject(closedError());
    }
    const job = new ScheduledJob<T>(this.#host, fn as JobFunction<T>);
    const any = job as AnyJob;
    const nobodyAhead = this.#spawns.length === 0;
    if (nobodyAhead && this.#pending.length === 0 && this.#active < this.#limit) {
      // A free slot, taken now; the function starts a microtask later (never "sometimes
      // synchronous", as Semaphore#run), from a reaction registered in the caller's context.
      // The promise the caller gets is the one that starts it: no other allocation.
      this.#spawned++;
      this.#activate(any, false);
      const accepted = Promise.resolve(job);
      (accepted as Promise<AnyJob>).then(startQueued);
      return accepted;
    }
    // It will start later, from whoever frees a slot: the reaction registered here, now, runs
    // it in the caller's async context (not the releaser's).
    new Promise<AnyJob>((resolve) => {
      any.go = resolve;
    }).then(startQueued);
    if (nobodyAhead && this.#pending.length < this.#pendingLimit) {
      this.#spawned++;
      this.#enqueue(any);
      this.#events?.queued(any, 1, undefined);
      return Promise.resolve(job);
    }
    if (wait?.timeout === 0) {
      this.#events?.refused('queue_timeout', 1, undefined);
      return Promise.reject(new TimeoutError(0, 'JobScheduler spawn timed out after 0 ms'));
    }
    const node: SpawnWait = new DeferredWait<Job<unknown>, AnyJob>(
      this.#spawns,
      any,
      'JobScheduler spawn',
      wait?.signal,
      wait?.timeout,
      this.#onSpawnLeave,
    );
    // Waiting for a pending slot is queueing too: the wait is timed from here.
    this.#events?.queued(any, 1, undefined);
    return node.promise as Promise<Job<T>>;
  }

  /**
   * Resolves once nothing runs, nothing is pending and no spawn waits: every job spawned so far,
   * including those spawned while waiting, has settled. Rejects with `signal.reason` on abort
   * and `TimeoutError` past `timeout`.
   */
  wait(options?: WaitOptions): Promise<void> {
    let wait: WaitOptions | undefined;
    try {
      wait = checkWaitOptions(options);
    } catch (error) {
      return Promise.reject(error);
    }
    return waitUntilSettled(this.#idle, 'JobScheduler wait', wait, this.#isIdle());
  }

  /**
   * Stops accepting jobs: later spawns, and spawns still waiting for a slot, reject with
   * `ClosedError`. Jobs already accepted, active and pending, run to the end; with `timeout`,
   * those left when it runs out are cancelled (pending ones never start, active ones see
   * their signal abort with a `ClosedError`). Resolves once every job has settled and every
   * unclaimed failure has gone to `onError`. A second call returns the same promise (its options
   * are ignored). A job that awaits its own scheduler's `close()` or `wait()` never ends.
   */
  close(options?: { timeout?: number }): Promise<void> {
    let timeout: number | undefined;
    try {
      assertOptions('options', options);
      timeout = options?.timeout;
      if (timeout !== undefined) assertTimeout('options.timeout', timeout);
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.#closing !== undefined) return this.#closing;
    this.#closed = true;
    this.#closing = new Promise<void>((resolve) => {
      this.#closeResolve = resolve;
    });
    for (let wait = this.#spawns.head; wait !== undefined; wait = this.#spawns.head) {
      this.#events?.left(wait.payload, 'closed', 1, undefined);
      wait.fail(closedError());
    }
    if (timeout !== undefined && !this.#isIdle()) {
      const cut = () => {
        this.#closeTimer = undefined;
        this.#cancelAll(
          new ClosedError(
            undefined,
            `JobScheduler closed: its close timeout of ${timeout} ms ran out`,
          ),
        );
      };
      if (timeout === 0) cut();
      else this.#closeTimer = setTimer(cut, timeout);
    }
    this.#checkIdle();
    return this.#closing;
  }

  /**
   * Call `listener` with every event until the returned function is called (idempotent): a job
   * `queued` (pending, or its spawn waits for a pending slot), `acquired` when it takes a run
   * slot (`waitedMs`: its time queued), `released` when it settles (`heldMs`: its run time),
   * `rejected` for a spawn refused or given up (`closed`, `aborted`, `queue_timeout`) and for a
   * pending job cancelled (`aborted`, or `closed` by the close timeout). Weights are 1. A
   * listener that throws is reported (`reportError`, else `console.error`) and changes nothing.
   */
  subscribe(listener: LimiterListener): () => void {
    this.#hub ??= new EventHub(defaultNow, false, (hub) => {
      this.#events = hub;
    });
    return this.#hub.subscribe(listener as LimiterListener<unknown>);
  }

  stats(): JobSchedulerStats {
    return {
      limit: this.#limit,
      pendingLimit: this.#pendingLimit,
      active: this.#active,
      pending: this.#pending.length,
      waiting: this.#spawns.length,
      maxActive: this.#maxActive,
      maxPending: this.#maxPending,
      spawned: this.#spawned,
      fulfilled: this.#fulfilled,
      rejected: this.#rejected,
      cancelled: this.#cancelled,
      unhandled: this.#unhandled,
      timedOut: this.#timedOut,
      aborted: this.#aborted,
    };
  }

  // --- called by the jobs (through #host) ---

  #cancelPending(job: AnyJob): void {
    this.#pending.remove(job);
    this.#cancelled++;
    this.#events?.left(job, this.#closed ? 'closed' : 'aborted', 1, undefined);
    // A pending slot is free: the head waiting spawn may enter.
    this.#pump();
  }

  #settle(job: AnyJob, ok: boolean, outcome: unknown): void {
    this.#running.remove(job);
    this.#active--;
    this.#events?.released(job, 1, undefined);
    if (ok) {
      this.#fulfilled++;
      job.finish('fulfilled', outcome);
    } else if (job.cancelled && outcome === job.cancelReason) {
      this.#cancelled++;
      job.finish('cancelled', outcome);
    } else {
      this.#rejected++;
      job.finish('rejected', outcome);
    }
    this.#pump();
  }

  #addUnclaimed(job: AnyJob): void {
    this.#unclaimed.push(job);
    // One timer for all of them: result() called in the same macrotask still claims the error.
    if (this.#unclaimedTimer === undefined) {
      this.#unclaimedTimer = setTimer(() => {
        this.#unclaimedTimer = undefined;
        this.#dispatchUnclaimed();
      }, 0);
    }
  }

  // --- internals ---

  /** Takes a run slot for `job`; `waited`: it was pending or its spawn waited (it queued). */
  #activate(job: AnyJob, waited: boolean): void {
    if (this.#events !== null) {
      if (waited) this.#events.served(job, job, 1, undefined);
      else this.#events.acquired(job, 1, undefined);
    }
    job.state = 'active';
    this.#running.push(job);
    const active = ++this.#active;
    if (active > this.#maxActive) this.#maxActive = active;
  }

  #enqueue(job: AnyJob): void {
    this.#pending.push(job);
    if (this.#pending.length > this.#maxPending) this.#maxPending = this.#pending.length;
  }

  /** Starts pending jobs while slots are free, then lets waiting spawns in, in FIFO order. */
  #pump(): void {
    for (;;) {
      if (this.#active < this.#limit) {
        const head = this.#pending.shift();
        if (head !== undefined) {
          this.#activate(head, true);
          (head.go as (job: AnyJob) => void)(head);
          continue;
        }
      }
      const wait = this.#spawns.head;
      if (wait === undefined) break;
      const job = wait.payload;
      if (this.#active < this.#limit) {
        this.#spawned++;
        this.#activate(job, true);
        (job.go as (job: AnyJob) => void)(job);
      } else if (this.#pending.length < this.#pendingLimit) {
        this.#spawned++;
        this.#enqueue(job);
      } else {
        break;
      }
      wait.settle(job);
    }
    this.#checkIdle();
  }

  #isIdle(): boolean {
    return this.#active === 0 && this.#pending.length === 0 && this.#spawns.length === 0;
  }

  #checkIdle(): void {
    if (!this.#isIdle()) return;
    for (let wait = this.#idle.head; wait !== undefined; wait = this.#idle.head) {
      wait.settle(undefined);
    }
    if (this.#closeResolve !== undefined) {
      const resolve = this.#closeResolve;
      this.#closeResolve = undefined;
      if (this.#closeTimer !== undefined) {
        clearTimer(this.#closeTimer);
        this.#closeTimer = undefined;
      }
      // Nothing is left to claim an error after close: hand every unclaimed one over now.
      if (this.#unclaimedTimer !== undefined) {
        clearTimer(this.#unclaimedTimer);
        this.#unclaimedTimer = undefined;
      }
      this.#dispatchUnclaimed();
      resolve();
    }
  }

  #cancelAll(reason: unknown): void {
    // Pending first, so aborting the active ones cannot start a pending one in between.
    for (let job = this.#pending.head; job !== undefined; job = this.#pending.head) {
      job.cancel(reason);
    }
    for (let job = this.#running.head; job !== undefined; job = job.next) job.cancel(reason);
  }

  #dispatchUnclaimed(): void {
    const jobs = this.#unclaimed;
    if (jobs.length === 0) return;
    this.#unclaimed = [];
    for (const job of jobs) {
      if (job.claimed) continue;
      job.claimed = true;
      this.#unhandled++;
      try {
        this.#onError(job.outcome, job);
      } catch (error) {
        report(error);
      }
    }
  }
}
