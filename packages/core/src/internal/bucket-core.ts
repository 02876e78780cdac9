// The token bucket itself, shared by TokenBucket (one of them) and KeyedTokenBucket (one per
// key). Arguments are validated by the public classes; this file trusts them.

import { ClosedError, TimeoutError } from '../errors.js';
import type { TryTakeResult } from '../types.js';
import type { BucketScheduler, Scheduled } from './bucket-scheduler.js';
import type { EventHub } from './event-hub.js';

/** Settings shared by reference, so a keyed table of buckets stores them once. */
export interface BucketConfig {
  readonly capacity: number;
  /** Tokens per second. */
  readonly rate: number;
  readonly now: () => number;
  /** Abort listeners of every bucket sharing this config. */
  readonly signals: SignalHub;
  /** The one timer of every bucket sharing this config. */
  readonly scheduler: BucketScheduler;
  /** The limiter's listeners, set only while there is one (the hot path's one check). */
  events: EventHub | null;
}

// Refill is elapsed * rate / 1000, so sums drift by rounding; a deficit this small is none.
const EPSILON = 1e-9;

export interface Waiter {
  readonly core: BucketCore;
  readonly need: number;
  readonly resolve: () => void;
  readonly reject: (reason: unknown) => void;
  /** When it queued; taken only while somebody listens. */
  at: number | undefined;
  group: SignalGroup | undefined;
  prev: Waiter | undefined;
  next: Waiter | undefined;
}

/**
 * One 'abort' listener per signal, however many waiters share it: Node's EventTarget scans its
 * listeners on every add, so a listener per waiter makes a shared signal quadratic (and warns
 * past 10 listeners).
 */
export class SignalHub {
  readonly groups = new Map<AbortSignal, SignalGroup>();

  join(waiter: Waiter, signal: AbortSignal): void {
    let group = this.groups.get(signal);
    if (group === undefined) {
      group = new SignalGroup(this, signal);
      this.groups.set(signal, group);
      signal.addEventListener('abort', group, { once: true });
    }
    group.waiters.add(waiter);
    waiter.group = group;
  }
}

class SignalGroup {
  readonly hub: SignalHub;
  readonly signal: AbortSignal;
  /** Insertion-ordered: FIFO across the buckets of the hub. */
  readonly waiters = new Set<Waiter>();

  constructor(hub: SignalHub, signal: AbortSignal) {
    this.hub = hub;
    this.signal = signal;
  }

  leave(waiter: Waiter): void {
    this.waiters.delete(waiter);
    waiter.group = undefined;
    if (this.waiters.size === 0) {
      this.signal.removeEventListener('abort', this);
      this.hub.groups.delete(this.signal);
    }
  }

  /** Cancel every waiter of the signal first, then serve what is left behind them. */
  handleEvent(): void {
    // `once` already removed it; say so anyway, for wrappers that count.
    this.signal.removeEventListener('abort', this);
    this.hub.groups.delete(this.signal);
    const touched = new Set<BucketCore>();
    for (const waiter of this.waiters) {
      waiter.group = undefined;
      waiter.core.cancel(waiter, this.signal.reason);
      touched.add(waiter.core);
    }
    // Reported once every waiter of the signal is out: a listener runs on a settled queue.
    for (const waiter of this.waiters) {
      waiter.core.config.events?.left(waiter, 'aborted', waiter.need, waiter.core.key);
    }
    this.waiters.clear();
    for (const core of touched) core.afterCancel();
  }
}

export class BucketCore implements Scheduled {
  readonly config: BucketConfig;
  /** Fractional tokens as of `last`. */
  tokens: number;
  last: number;
  waiting = 0;
  /** Tokens wanted by everybody waiting: what a newcomer queues behind. */
  queued = 0;
  closed = false;
  /** The KeyedTokenBucket key of this bucket (undefined for a TokenBucket): events carry it. */
  key: unknown = undefined;
  /** Scheduler bookkeeping: when to wake, and where in its heap (-1: not scheduled). */
  due = 0;
  slot = -1;
  #head: Waiter | undefined;
  #tail: Waiter | undefined;

  constructor(config: BucketConfig, now: number = config.now()) {
    this.config = config;
    this.tokens = config.capacity;
    this.last = now;
  }

  /** Bring the bucket up to the clock: refill, then serve the waiters whose tokens are there. */
  sync(): void {
    const now = this.config.now();
    // A clock that steps back refills nothing (and does not move `last`, or the step would
    // be counted twice once the clock catches up).
    if (now > this.last) {
      this.tokens = this.#refilled(now);
      this.last = now;
    }
    if (this.#head !== undefined && this.tokens + EPSILON >= this.#head.need) this.#serve();
  }

  /** Whole tokens available now (after sync, or of `peek()`). */
  remaining(tokens: number = this.tokens): number {
    return Math.floor(tokens + EPSILON);
  }

  /**
   * The tokens the clock says are there, changing nothing: for getters, which must not serve
   * anyone (only the timer and the operations do). Waiters whose tokens are there still count.
   */
  peek(): number {
    return this.#refilled(this.config.now());
  }

  #refilled(now: number): number {
    const elapsed = now - this.last;
    if (elapsed <= 0) return this.tokens;
    return Math.min(this.config.capacity, this.tokens + (elapsed * this.config.rate) / 1000);
  }

  /** Full and idle (after sync, or of `peek()`): such a bucket carries no information. */
  isFull(tokens: number = this.tokens): boolean {
    return this.waiting === 0 && tokens + EPSILON >= this.config.capacity;
  }

  /** Milliseconds until this bucket is full and idle again (after sync). */
  msUntilFull(): number {
    return this.#msFor(this.queued + this.config.capacity - this.tokens);
  }

  /** Milliseconds a request for `need` tokens made now would wait (after sync). */
  waitFor(need: number): number {
    return this.#msFor(this.queued + need - this.tokens);
  }

  tryTake(need: number): TryTakeResult {
    this.sync();
    if (this.waiting === 0 && this.tokens + EPSILON >= need) {
      this.tokens = Math.max(0, this.tokens - need);
      this.config.events?.taken(need, this.key);
      return { ok: true, remaining: this.remaining() };
    }
    this.config.events?.refused('rate_limited', need, this.key);
    return { ok: false, retryAfterMs: Math.max(1, this.waitFor(need)) };
  }

  take(need: number, signal: AbortSignal | undefined, timeout: number | undefined): Promise<void> {
    const events = this.config.events;
    if (this.closed) {
      events?.refused('closed', need, this.key);
      return Promise.reject(new ClosedError(undefined, 'Token bucket is closed'));
    }
    if (signal?.aborted) {
      events?.refused('aborted', need, this.key);
      return Promise.reject(signal.reason);
    }
    this.sync();
    if (this.waiting === 0 && this.tokens + EPSILON >= need) {
      this.tokens = Math.max(0, this.tokens - need);
      events?.taken(need, this.key);
      return Promise.resolve();
    }
    // The wait is known now: nobody can overtake (tryTake fails while anyone waits) and those
    // ahead can only leave, so a wait that fits the timeout today still fits when it ends.
    // A wait that cannot fit fails at once instead of holding a place it will give up.
    const wait = this.waitFor(need);
    if (timeout !== undefined && wait > timeout) {
      events?.refused('queue_timeout', need, this.key);
      return Promise.reject(
        new TimeoutError(
          timeout,
          `Tokens would take ${wait} ms, longer than the timeout of ${timeout} ms`,
        ),
      );
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        core: this,
        need,
        resolve,
        reject,
        at: undefined,
        group: undefined,
        prev: this.#tail,
        next: undefined,
      };
      if (this.#tail === undefined) this.#head = waiter;
      else this.#tail.next = waiter;
      this.#tail = waiter;
      this.waiting++;
      this.queued += need;
      if (signal !== undefined) this.config.signals.join(waiter, signal);
      if (this.#head === waiter) this.#rearm();
      events?.queued(waiter, need, this.key);
    });
  }

  /** Reject every waiter with ClosedError (cause: reason), in FIFO order. */
  close(reason: unknown): void {
    if (this.closed) return;
    this.closed = true;
    this.#disarm();
    let waiter = this.#head;
    this.#head = this.#tail = undefined;
    this.waiting = 0;
    this.queued = 0;
    while (waiter !== undefined) {
      const next = waiter.next;
      waiter.prev = waiter.next = undefined;
      this.#unlisten(waiter);
      waiter.reject(new ClosedError(reason, 'Token bucket is closed'));
      this.config.events?.left(waiter, 'closed', waiter.need, this.key);
      waiter = next;
    }
  }

  #msFor(deficit: number): number {
    if (deficit <= EPSILON) return 0;
    return Math.ceil((deficit * 1000) / this.config.rate - EPSILON);
  }

  /** Hand tokens to waiters from the head while they suffice; then time the new head. */
  #serve(): void {
    let waiter = this.#head;
    while (waiter !== undefined && this.tokens + EPSILON >= waiter.need) {
      this.tokens = Math.max(0, this.tokens - waiter.need);
      this.#unlink(waiter);
      this.#unlisten(waiter);
      waiter.resolve();
      this.config.events?.served(waiter, waiter, waiter.need, this.key);
      waiter = this.#head;
    }
    this.#rearm();
  }

  /** Unlink an aborted waiter and reject it; the caller then runs `afterCancel`. */
  cancel(waiter: Waiter, reason: unknown): void {
    this.#unlink(waiter);
    waiter.reject(reason);
  }

  /** The waiters behind a departed head may be served with what is there already. */
  afterCancel(): void {
    this.sync();
    this.#rearm();
  }

  #unlink(waiter: Waiter): void {
    if (waiter.prev === undefined) this.#head = waiter.next;
    else waiter.prev.next = waiter.next;
    if (waiter.next === undefined) this.#tail = waiter.prev;
    else waiter.next.prev = waiter.prev;
    waiter.prev = waiter.next = undefined;
    this.waiting--;
    this.queued -= waiter.need;
    // Keep the sum exact once nobody waits (floating point never enters it, but be safe).
    if (this.waiting === 0) this.queued = 0;
  }

  #unlisten(waiter: Waiter): void {
    waiter.group?.leave(waiter);
  }

  /** A wake-up for the head, exactly when its refill is done; none when nobody waits. */
  #rearm(): void {
    const head = this.#head;
    if (head === undefined) this.config.scheduler.disarm(this);
    else this.config.scheduler.arm(this, Math.max(1, this.#msFor(head.need - this.tokens)));
  }

  #disarm(): void {
    this.config.scheduler.disarm(this);
  }

  /** Called by the scheduler when `due` has come. */
  wake(): void {
    this.sync();
    // Not yet enough (a clock that did not move as far as the timer): wait for what is missing.
    if (this.slot < 0 && this.#head !== undefined) this.#rearm();
  }
}
