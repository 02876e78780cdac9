// The engine behind Semaphore, Lock and KeyedSemaphore.
//
// Data structure: a FIFO of waiter nodes in a ring (see WaiterRing). A permit is a Grant (core,
// weight; the methods on the prototype), fresh for every grant, so a released permit can never
// reach a later one. The uncontended path allocates a Grant and one resolved promise. A queued
// waiter is a plain node (core, weight, slot, resolve, wait); its grant resolves it with a
// fresh Grant (a TimedGrant, and the node a timed one, while a listener wants times). The node is an object literal made in one place (newWaiter), not a class
// instance: V8 keeps an allocation site for literals and pretenures the ones that live long (a
// long queue), so queues are not copied by scavenges (measured on Node 20: 15-25% less CPU in
// the bench's contended hand-off than a class node). It has no `__proto__`: setting one in a
// literal is a runtime call per waiter (a fifth of the CPU of a small-burst hand-off in the
// bench's scenario 9), where a short-lived Grant costs a few ns. A plain waiter (weight 1, no
// signal, no timeout, nobody listening to events) has no node at all: its promise's `resolve`
// is the ring entry (about 170 B per waiter instead of 235 in the bench's scenario 5). Otherwise
// a queued waiter costs the node, its promise and that promise's `resolve`. A waiter with a signal or a timeout gets one
// more small object (`Wait`: timer, abort-group links), so plain waiters do not pay for those
// fields. Removing a waiter is O(1); every loop that settles many waiters is iterative (no
// recursion, no stack growth with the queue length).
//
// Abort listeners are grouped per signal (see AbortGroup): Node's EventTarget scans its
// whole listener list on every addEventListener, so one listener per waiter on a shared
// signal would make N waiters cost O(N^2). One listener per (signal, hub) keeps it O(1).

import { ClosedError, QueueFullError, TimeoutError } from '../errors.js';
import type { AcquireOptions, Permit, SemaphoreStats } from '../types.js';
import { clearTimer, setTimer, type TimerHandle } from './clock.js';
import type { EventHub, Timed } from './event-hub.js';
import {
  assertOptions,
  assertPositiveInteger,
  assertSignal,
  assertTimeout,
  describe,
} from './validate.js';
import { WaiterRing } from './waiter-ring.js';

type Resolve = (value: Permit | PromiseLike<Permit>) => void;

/** A permit: held while `core` is set, released once it is null. */
export class Grant implements Permit {
  core: SemaphoreCore | null;
  readonly weight: number;
  /**
   * Clock time of the grant (of the enqueue, while waiting). Only the permits and waiters made
   * while somebody listens have this field (TimedGrant, newTimedWaiter): the others weigh what
   * they did before events existed. It is a real field there, not one added later: adding a
   * property to a long-lived (old-generation) waiter costs an out-of-object store per event.
   */
  declare at?: number;

  constructor(core: SemaphoreCore, weight: number) {
    this.core = core;
    this.weight = weight;
  }

  get released(): boolean {
    return this.core === null;
  }

  release(): void {
    const core = this.core;
    if (core !== null) {
      this.core = null;
      core.release(this.weight, this);
    }
  }

  [Symbol.dispose](): void {
    this.release();
  }
}

/** A permit granted at once while somebody listens: a Grant with room for its grant time. */
class TimedGrant extends Grant {
  override at: number | undefined = undefined;
}

/**
 * A queued acquire. States, without a state field: waiting <=> `resolve !== null`; `core` is
 * null once it left the queue unserved (aborted, timed out, closed, resized away). A grant
 * resolves it with a fresh Grant.
 */
export interface Waiter {
  core: SemaphoreCore | null;
  readonly weight: number;
  slot: number;
  resolve: Resolve | null;
  wait: Wait | null;
  /** Only on waiters made while somebody listens (see Timed): when it queued. */
  at?: number | undefined;
}

// The only place a Waiter is made: one allocation site, one shape (see the top comment). A
// plain literal: V8 copies it from its boilerplate inline, where a `__proto__` literal costs a
// runtime call to set the prototype on every waiter.
function newWaiter(core: SemaphoreCore, weight: number): Waiter {
  if (core.events !== null) return newTimedWaiter(core, weight);
  return { core, weight, slot: 0, resolve: null, wait: null };
}

// While somebody listens: a second site and shape, with the enqueue (then grant) time.
function newTimedWaiter(core: SemaphoreCore, weight: number): Waiter {
  return { core, weight, slot: 0, resolve: null, wait: null, at: undefined };
}

/** What only a waiter with a signal or a timeout needs. */
export class Wait {
  readonly node: Waiter;
  timer: TimerHandle | undefined = undefined;
  group: AbortGroup | null = null;
  prev: Wait | null = null;
  next: Wait | null = null;

  constructor(node: Waiter) {
    this.node = node;
  }
}

// Promise executors are called synchronously, so a module-level executor reading the node
// from a scratch variable captures `resolve` without allocating a closure per waiter.
let capturing: Waiter | null = null;
function capture(resolve: Resolve): void {
  capturing!.resolve = resolve;
}

// A plain waiter (weight 1, no signal, no timeout) needs no node: its `resolve` alone is
// queued, and its grant resolves it with a fresh Grant. Nothing can remove it from the middle
// of the queue (only a signal or a timeout can), so it needs no slot either.
let pushingTo: WaiterRing<Entry> | null = null;
function pushResolve(resolve: Resolve): void {
  pushingTo!.push(resolve);
}

/** A queued entry: a node, or a plain waiter's bare `resolve`. */
type Entry = Waiter | Resolve;

/** What events time a bare `resolve` entry from: nothing, so the hub uses its subscribe time. */
const UNTIMED: Timed = {};

// A waiter keeps only its `resolve` (one function, not two: less memory per waiter) and is
// rejected through it: resolving with an object whose `then` getter throws rejects the promise
// at once with what was thrown (ECMAScript Promise Resolve Functions, step "If then is an
// abrupt completion"), with no extra tick and no allocation.
let rejection: unknown;
const REJECTING = {
  // biome-ignore lint/suspicious/noThenProperty: a thenable on purpose, see above.
  get then(): never {
    throw rejection;
  },
} as unknown as PromiseLike<Permit>;
function rejectWaiter(node: Waiter, reason: unknown): void {
  const resolve = node.resolve!;
  node.resolve = null;
  rejectThrough(resolve, reason);
}
function rejectThrough(resolve: Resolve, reason: unknown): void {
  rejection = reason;
  resolve(REJECTING);
  rejection = undefined;
}

/** Shared by the cores of one public object: one abort listener per signal. */
export class SignalHub {
  groups: WeakMap<AbortSignal, AbortGroup> | null = null;

  join(wait: Wait, signal: AbortSignal): void {
    if (this.groups === null) this.groups = new WeakMap();
    let group = this.groups.get(signal);
    if (group === undefined) {
      group = new AbortGroup(this, signal);
      this.groups.set(signal, group);
      signal.addEventListener('abort', group);
    }
    wait.group = group;
    wait.prev = group.tail;
    if (group.tail === null) group.head = wait;
    else group.tail.next = wait;
    group.tail = wait;
  }
}

/** The waiters of one hub that share one signal; itself the (only) abort listener. */
export class AbortGroup {
  readonly hub: SignalHub;
  readonly signal: AbortSignal;
  head: Wait | null = null;
  tail: Wait | null = null;

  constructor(hub: SignalHub, signal: AbortSignal) {
    this.hub = hub;
    this.signal = signal;
  }

  leave(wait: Wait): void {
    const { prev, next } = wait;
    if (prev === null) this.head = next;
    else prev.next = next;
    if (next === null) this.tail = prev;
    else next.prev = prev;
    wait.group = wait.prev = wait.next = null;
    if (this.head === null) this.detach();
  }

  detach(): void {
    this.signal.removeEventListener('abort', this);
    this.hub.groups?.delete(this.signal);
  }

  handleEvent(): void {
    const reason = this.signal.reason;
    this.detach();
    // Unlink (and reject) every waiter first, then serve whoever is behind them: an aborted
    // waiter must not be granted by a drain triggered by its own group's earlier members.
    const touched: SemaphoreCore[] = [];
    // (core, node) pairs to report once every waiter is out: a listener runs on a settled queue.
    let report: Array<SemaphoreCore | Waiter> | null = null;
    for (let wait = this.head; wait !== null; wait = wait.next) {
      const core = wait.node.core!;
      core.remove(wait.node);
      core.aborted++;
      if (core.events !== null) {
        report ??= [];
        report.push(core, wait.node);
      }
      if (!core.touched) {
        core.touched = true;
        touched.push(core);
      }
    }
    let wait = this.head;
    this.head = this.tail = null;
    while (wait !== null) {
      const next = wait.next;
      wait.group = wait.prev = wait.next = null;
      wait.node.wait = null;
      rejectWaiter(wait.node, reason);
      wait = next;
    }
    if (report !== null) {
      for (let i = 0; i < report.length; i += 2) {
        const core = report[i] as SemaphoreCore;
        const node = report[i + 1] as Waiter;
        core.events?.left(node, 'aborted', node.weight, core.key);
      }
    }
    for (const core of touched) {
      core.touched = false;
      core.drain();
      core.checkIdle();
    }
  }
}

function weightAboveCapacity(weight: number, capacity: number): RangeError {
  return new RangeError(
    `Expected \`weight\` to be at most the capacity (${capacity}), got ${describe(weight)}`,
  );
}

/** Type checks of an options object, thrown. Weight against capacity is checked at the call. */
export function assertAcquireOptions(options: unknown): asserts options is AcquireOptions {
  assertOptions('options', options);
  if (options === undefined) return;
  const { weight, timeout, signal } = options as AcquireOptions;
  if (weight !== undefined) assertPositiveInteger('weight', weight);
  if (timeout !== undefined) assertTimeout('timeout', timeout);
  if (signal !== undefined) assertSignal('signal', signal);
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as PromiseLike<unknown>).then === 'function'
  );
}

// `fn` never starts before run() returns, served at once or not (never sometimes-sync, like
// async-mutex's runExclusive and p-limit): a free permit is taken at the call (the gauges and
// FIFO order see it at once) and `fn` starts a microtask later (`defer`); the `await` resumes
// in the caller's async context. The release is in finally, whatever happens.
async function callHeld<T>(
  permit: Grant,
  fn: (...args: unknown[]) => T | PromiseLike<T>,
  thisArg: unknown,
  args: unknown[] | undefined,
  defer: boolean,
): Promise<T> {
  try {
    if (defer) await undefined;
    const result = fn.apply(thisArg, args as unknown[]);
    return isPromiseLike(result) ? await result : result;
  } finally {
    permit.release();
  }
}

// Queued: the reaction is registered here, in the caller's frame, so fn starts in the caller's
// async context, never the releaser's. A `.then` keeps ~250 bytes less per queued call than a
// suspended async function would.
function callAfter<T>(
  pending: Promise<Permit>,
  fn: (...args: unknown[]) => T | PromiseLike<T>,
  thisArg: unknown,
  args: unknown[] | undefined,
): Promise<T> {
  return pending.then((permit) => callHeld(permit as Grant, fn, thisArg, args, false));
}

export class SemaphoreCore {
  capacity: number;
  readonly maxWaiting: number;
  readonly hub: SignalHub;
  /** Called when nothing is held and nothing waits (KeyedSemaphore drops the key). */
  readonly onEmpty: ((core: SemaphoreCore) => void) | null;
  /** The KeyedSemaphore key this core serves (undefined for a plain Semaphore). */
  key: unknown = undefined;
  /** The limiter's listeners, set only while there is one: the hot path's one check. */
  events: EventHub | null = null;
  inUse = 0;
  readonly queue = new WaiterRing<Entry>();
  closed = false;
  closeReason: unknown = undefined;
  idleResolvers: Array<() => void> | null = null;
  touched = false;
  maxInUse = 0;
  acquired = 0;
  timedOut = 0;
  aborted = 0;
  rejected = 0;

  constructor(
    capacity: number,
    maxWaiting: number,
    hub: SignalHub,
    onEmpty: ((core: SemaphoreCore) => void) | null = null,
  ) {
    this.capacity = capacity;
    this.maxWaiting = maxWaiting;
    this.hub = hub;
    this.onEmpty = onEmpty;
  }

  get available(): number {
    return Math.max(this.capacity - this.inUse, 0);
  }

  get waiting(): number {
    return this.queue.size;
  }

  /**
   * A Grant when served at once, else a promise (queued or rejected). Kept non-async so the
   * fast path allocates nothing but the Grant.
   */
  admit(options: AcquireOptions | undefined): Grant | Promise<Permit> {
    let weight = 1;
    let signal: AbortSignal | undefined;
    let timeout: number | undefined;
    if (options !== undefined) {
      try {
        assertAcquireOptions(options);
      } catch (error) {
        return Promise.reject(error);
      }
      weight = options.weight ?? 1;
      signal = options.signal;
      timeout = options.timeout;
      // Capacity 0 means "paused": any weight may wait for a resize.
      if (weight > this.capacity && this.capacity > 0) {
        return Promise.reject(weightAboveCapacity(weight, this.capacity));
      }
      if (signal?.aborted) {
        this.events?.refused('aborted', weight, this.key);
        return Promise.reject(signal.reason);
      }
    }
    if (this.closed) {
      this.events?.refused('closed', weight, this.key);
      return Promise.reject(new ClosedError(this.closeReason));
    }
    if (this.queue.size === 0 && weight <= this.capacity - this.inUse) return this.grantNew(weight);
    if (this.queue.size >= this.maxWaiting) {
      this.rejected++;
      this.events?.refused('queue_full', weight, this.key);
      return Promise.reject(new QueueFullError(`Queue is full (maxWaiting: ${this.maxWaiting})`));
    }
    // timeout 0 means "do not wait": refuse now rather than arm a 0 ms timer.
    if (timeout === 0) {
      this.timedOut++;
      this.events?.refused('queue_timeout', weight, this.key);
      return Promise.reject(new TimeoutError(0));
    }
    if (weight === 1 && signal === undefined && timeout === undefined) return this.enqueuePlain();
    const node = newWaiter(this, weight);
    const promise = this.enqueue(node);
    if (signal !== undefined || timeout !== undefined) {
      const wait = new Wait(node);
      node.wait = wait;
      if (signal !== undefined) this.hub.join(wait, signal);
      if (timeout !== undefined) {
        wait.timer = setTimer(() => {
          wait.timer = undefined;
          this.expire(node, timeout);
        }, timeout);
      }
    }
    return promise;
  }

  /** Queue a new waiter at the tail; its promise settles through its `resolve`. */
  enqueue(node: Waiter): Promise<Permit> {
    capturing = node;
    const promise = new Promise<Permit>(capture);
    capturing = null;
    this.queue.push(node);
    if (this.events !== null) this.events.queued(node, node.weight, this.key);
    return promise;
  }

  /**
   * Queue a plain waiter (weight 1, no signal, no timeout): its `resolve` is the entry. While
   * somebody listens, a timed node instead, so that its wait can be reported.
   */
  enqueuePlain(): Promise<Permit> {
    if (this.events !== null) return this.enqueue(newWaiter(this, 1));
    pushingTo = this.queue;
    const promise = new Promise<Permit>(pushResolve);
    pushingTo = null;
    return promise;
  }

  acquire(options: AcquireOptions | undefined): Promise<Permit> {
    // The common calls, without admit()'s option handling: served at once, or queued plainly.
    if (options === undefined && !this.closed) {
      const waiting = this.queue.size;
      if (waiting === 0 && this.inUse < this.capacity) return Promise.resolve(this.grantNew(1));
      if (waiting < this.maxWaiting) return this.enqueuePlain();
    }
    const result = this.admit(options);
    return result instanceof Grant ? Promise.resolve(result) : result;
  }

  tryAcquire(weight: number | undefined): Grant | undefined {
    if (weight === undefined) weight = 1;
    else {
      assertPositiveInteger('weight', weight);
      if (weight > this.capacity && this.capacity > 0) {
        throw weightAboveCapacity(weight, this.capacity);
      }
    }
    if (this.closed || this.queue.size !== 0 || weight > this.capacity - this.inUse) {
      return undefined;
    }
    return this.grantNew(weight);
  }

  run<T>(
    fn: (...args: unknown[]) => T | PromiseLike<T>,
    thisArg: unknown,
    args: unknown[] | undefined,
    options: AcquireOptions | undefined,
  ): Promise<T> {
    if (typeof fn !== 'function') {
      return Promise.reject(
        new TypeError(`Expected \`fn\` to be a function, got ${describe(fn)} (${typeof fn})`),
      );
    }
    const result = this.admit(options);
    if (result instanceof Grant) return callHeld(result, fn, thisArg, args, true);
    return callAfter(result, fn, thisArg, args);
  }

  grantNew(weight: number): Grant {
    const inUse = this.inUse + weight;
    this.inUse = inUse;
    this.acquired++;
    if (inUse > this.maxInUse) this.maxInUse = inUse;
    if (this.events === null) return new Grant(this, weight);
    const grant = new TimedGrant(this, weight);
    this.events.acquired(grant, weight, this.key);
    return grant;
  }

  /** Called once per Grant, by its release(); `permit` (the Grant) times the hold for listeners. */
  release(weight: number, permit?: Grant): void {
    this.inUse -= weight;
    if (this.events !== null) this.events.released(permit ?? {}, weight, this.key);
    if (this.queue.size !== 0) this.drain();
    else if (this.inUse === 0) this.becameIdle();
  }

  /** Grant head waiters while their weight fits; synchronous, iterative. */
  drain(): void {
    const queue = this.queue;
    for (let node = queue.peek(); node !== null; node = queue.peek()) {
      if (typeof node === 'function') {
        if (this.inUse >= this.capacity) return;
        queue.shift();
        const inUse = this.inUse + 1;
        this.inUse = inUse;
        this.acquired++;
        if (inUse > this.maxInUse) this.maxInUse = inUse;
        if (this.events === null) {
          node(new Grant(this, 1));
        } else {
          const grant = new TimedGrant(this, 1);
          node(grant);
          this.events.served(UNTIMED, grant, 1, this.key);
        }
        continue;
      }
      if (node.weight > this.capacity - this.inUse) return;
      queue.shift();
      const inUse = this.inUse + node.weight;
      this.inUse = inUse;
      this.acquired++;
      if (inUse > this.maxInUse) this.maxInUse = inUse;
      if (node.wait !== null) this.detach(node);
      const resolve = node.resolve!;
      node.resolve = null;
      if (this.events === null) {
        resolve(new Grant(this, node.weight));
      } else {
        const grant = new TimedGrant(this, node.weight);
        resolve(grant);
        this.events.served(node, grant, node.weight, this.key);
      }
    }
  }

  /** Take a waiting node out of the queue, as if it had never waited. */
  remove(node: Waiter): void {
    this.queue.remove(node);
    node.core = null;
    const wait = node.wait;
    if (wait !== null && wait.timer !== undefined) {
      clearTimer(wait.timer);
      wait.timer = undefined;
    }
  }

  /** A wait outlived its timeout (unless it was granted or settled in the meantime). */
  expire(node: Waiter, timeout: number): void {
    if (node.resolve === null || node.core !== this) return;
    this.remove(node);
    this.detach(node);
    this.timedOut++;
    rejectWaiter(node, new TimeoutError(timeout));
    this.events?.left(node, 'queue_timeout', node.weight, this.key);
    // If it was the head, whoever is behind it may fit now (else the head still does not fit).
    this.drain();
    this.checkIdle();
  }

  /** Drop a node's timer and abort-group membership, if it has any. */
  detach(node: Waiter): void {
    const wait = node.wait;
    if (wait === null) return;
    node.wait = null;
    if (wait.group !== null) wait.group.leave(wait);
    if (wait.timer !== undefined) {
      clearTimer(wait.timer);
      wait.timer = undefined;
    }
  }

  resize(capacity: number): void {
    this.capacity = capacity;
    if (capacity > 0) {
      // Shrinking: waiters that can never fit are refused now, in queue order.
      for (const node of this.queue.toArray()) {
        if (typeof node !== 'function' && node.weight > capacity) {
          this.remove(node);
          this.detach(node);
          rejectWaiter(node, weightAboveCapacity(node.weight, capacity));
        }
      }
    }
    this.drain();
    this.checkIdle();
  }

  close(reason: unknown): void {
    if (this.closed) return;
    this.closed = true;
    this.closeReason = reason;
    const entries = this.queue.toArray();
    this.queue.clear();
    for (const node of entries) {
      if (typeof node === 'function') {
        rejectThrough(node, new ClosedError(reason));
        this.events?.left(UNTIMED, 'closed', 1, this.key);
        continue;
      }
      node.core = null; // out of the queue already (cleared above); detach clears its timer
      this.detach(node);
      rejectWaiter(node, new ClosedError(reason));
      this.events?.left(node, 'closed', node.weight, this.key);
    }
    this.checkIdle();
  }

  checkIdle(): void {
    if (this.inUse === 0 && this.queue.size === 0) this.becameIdle();
  }

  becameIdle(): void {
    const resolvers = this.idleResolvers;
    if (resolvers !== null) {
      this.idleResolvers = null;
      for (const resolve of resolvers) resolve();
    }
    if (this.onEmpty !== null) this.onEmpty(this);
  }

  onIdle(): Promise<void> {
    if (this.inUse === 0 && this.queue.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      if (this.idleResolvers === null) this.idleResolvers = [resolve];
      else this.idleResolvers.push(resolve);
    });
  }

  stats(): SemaphoreStats {
    return {
      capacity: this.capacity,
      available: this.available,
      inUse: this.inUse,
      waiting: this.waiting,
      maxInUse: this.maxInUse,
      acquired: this.acquired,
      timedOut: this.timedOut,
      aborted: this.aborted,
      rejected: this.rejected,
    };
  }
}
