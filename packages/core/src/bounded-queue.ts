import { ClosedError, TimeoutError } from './errors.js';
import { clearTimer, setTimer, type TimerHandle } from './internal/clock.js';
import { type DeferredWait, waitUntilSettled } from './internal/deferred-wait.js';
import { QueueRing } from './internal/queue-ring.js';
import { QueueWaiterList, type QueueWaiterNode } from './internal/queue-waiters.js';
import {
  assertCount,
  assertOptions,
  assertSignal,
  assertTimeout,
  describe,
} from './internal/validate.js';
import type { WaitOptions } from './types.js';

// setTimeout fires at once for delays above 2^31 - 1 ms; longer waits re-arm when it fires.
const MAX_TIMER_MS = 2_147_483_647;

// Shared results: the fast path of `put` allocates nothing, and `tryTake` on empty neither.
const RESOLVED: Promise<void> = Promise.resolve();
const NOT_TAKEN: { ok: false } = Object.freeze({ ok: false as const });
const DONE: IteratorReturnResult<undefined> = Object.freeze({
  done: true as const,
  value: undefined,
});

const TAKE = 0;
const NEXT = 1;
const PUT = 2;
type WaiterKind = typeof TAKE | typeof NEXT | typeof PUT;

/**
 * One pending put, take or iterator `next()`. It is its own abort listener (`handleEvent`), so
 * a wait allocates no closure for the signal, and it knows its list, so it can leave in O(1).
 */
class Waiter<T> implements QueueWaiterNode {
  prev: this | undefined = undefined;
  next: this | undefined = undefined;
  linked = false;
  resolve!: (value: any) => void;
  reject!: (reason: unknown) => void;
  signal: AbortSignal | undefined = undefined;
  timer: TimerHandle | undefined = undefined;
  timeoutMs = 0;
  remainingMs = 0;

  constructor(
    readonly list: QueueWaiterList<Waiter<T>>,
    readonly kind: WaiterKind,
    public item: T | undefined,
    // The pending `next()` calls of the iterator this node belongs to, so `return()` finds them.
    readonly pending: Set<Waiter<T>> | undefined,
  ) {}

  /** A taker receives `value`; the caller has already unlinked it. */
  deliver(value: T): void {
    this.#cleanup();
    this.resolve(this.kind === NEXT ? { value, done: false } : value);
  }

  /** A putter's item entered the queue (or a taker's hands); the caller has unlinked it. */
  admitted(): T {
    const item = this.item as T;
    this.item = undefined;
    this.#cleanup();
    this.resolve(undefined);
    return item;
  }

  /** The queue closed under this waiter; the caller has unlinked it. */
  closed(): void {
    this.item = undefined;
    this.#cleanup();
    if (this.kind === NEXT) this.resolve(DONE);
    else this.reject(new ClosedError(undefined, 'BoundedQueue is closed'));
  }

  /** Leaves the queue as if it had never waited, settling with `result`. */
  leave(result: unknown, rejected: boolean): void {
    if (!this.linked) return;
    this.list.remove(this);
    this.item = undefined;
    this.#cleanup();
    if (rejected) this.reject(result);
    else this.resolve(result);
  }

  arm(ms: number): void {
    const chunk = Math.min(ms, MAX_TIMER_MS);
    this.remainingMs = ms - chunk;
    this.timer = setTimer(() => this.#onTimer(), chunk);
  }

  // The abort listener: `signal.addEventListener('abort', waiter)`.
  handleEvent(): void {
    this.leave((this.signal as AbortSignal).reason, true);
  }

  #onTimer(): void {
    this.timer = undefined;
    if (!this.linked) return;
    if (this.remainingMs > 0) {
      this.arm(this.remainingMs);
      return;
    }
    const what = this.kind === PUT ? 'put' : 'take';
    this.leave(
      new TimeoutError(this.timeoutMs, `BoundedQueue ${what} timed out after ${this.timeoutMs} ms`),
      true,
    );
  }

  #cleanup(): void {
    if (this.signal !== undefined) {
      this.signal.removeEventListener('abort', this);
      this.signal = undefined;
    }
    if (this.timer !== undefined) {
      clearTimer(this.timer);
      this.timer = undefined;
    }
    this.pending?.delete(this);
  }
}

/** Returns the validation error of a put/take options object, or undefined when it is fine. */
function checkWaitOptions(options: unknown): unknown {
  try {
    assertOptions('options', options);
    const { signal, timeout } = options as WaitOptions;
    if (signal !== undefined) assertSignal('options.signal', signal);
    if (timeout !== undefined) assertTimeout('options.timeout', timeout);
    return undefined;
  } catch (error) {
    return error;
  }
}

function closedError(): ClosedError {
  return new ClosedError(undefined, 'BoundedQueue is closed');
}

/**
 * A FIFO queue of at most `capacity` items between producers and consumers. `put` waits while
 * the queue is full (that wait is the backpressure), `take` waits while it is empty. Capacity 0
 * makes a rendezvous channel: a put waits until a taker takes its item.
 *
 * Invariants: takers wait only while the queue is empty and no putter waits; putters wait only
 * while it is full and no taker waits. So an item never sits in the buffer while a taker waits.
 */
export class BoundedQueue<T> implements AsyncIterable<T> {
  readonly #capacity: number;
  readonly #items: QueueRing<T>;
  readonly #putters = new QueueWaiterList<Waiter<T>>();
  readonly #takers = new QueueWaiterList<Waiter<T>>();
  #closed = false;
  // asyncio's unfinished_tasks: items that entered and have not been marked done.
  #unfinished = 0;
  readonly #joins = new QueueWaiterList<DeferredWait<void>>();

  constructor(capacity: number) {
    assertCount('capacity', capacity);
    this.#capacity = capacity;
    this.#items = new QueueRing<T>(Math.max(1, Math.min(capacity, 16)));
  }

  /** Items in the buffer now (items of waiting putters are not counted: they have not entered). */
  get size(): number {
    return this.#items.size;
  }

  get capacity(): number {
    return this.#capacity;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Adds `item`, waiting while the queue is full. Resolves once the item is in the queue (or in
   * a taker's hands). Rejects with `signal.reason` on abort, `TimeoutError` past `timeout`, and
   * `ClosedError` if the queue is or gets closed first; in each case the item never entered.
   * Once the item entered, an abort changes nothing, even in the same tick: the put resolves.
   */
  put(item: T, options?: WaitOptions): Promise<void> {
    if (options !== undefined) {
      const error = checkWaitOptions(options);
      if (error !== undefined) return Promise.reject(error);
      if (options.signal?.aborted) return Promise.reject(options.signal.reason);
    }
    if (this.#closed) return Promise.reject(closedError());
    if (this.#offer(item)) return RESOLVED;
    return this.#wait(this.#putters, PUT, item, options, undefined);
  }

  /** Adds `item` if that needs no wait; false when full or closed. */
  tryPut(item: T): boolean {
    return !this.#closed && this.#offer(item);
  }

  /**
   * Removes and returns the oldest item, waiting while the queue is empty. Rejects with
   * `ClosedError` once the queue is closed and drained, with `signal.reason` on abort and with
   * `TimeoutError` past `timeout`; a take that rejects has consumed nothing. Once an item was
   * handed to this take, an abort changes nothing, even in the same tick: the take resolves with
   * the item (it is never given back). So check the result even after aborting.
   */
  take(options?: WaitOptions): Promise<T> {
    if (options !== undefined) {
      const error = checkWaitOptions(options);
      if (error !== undefined) return Promise.reject(error);
      if (options.signal?.aborted) return Promise.reject(options.signal.reason);
    }
    if (this.#items.size > 0 || this.#putters.length > 0) return Promise.resolve(this.#poll());
    if (this.#closed) return Promise.reject(closedError());
    return this.#wait(this.#takers, TAKE, undefined, options, undefined);
  }

  /** Removes the oldest item if there is one without waiting. */
  tryTake(): { ok: true; value: T } | { ok: false } {
    if (this.#items.size > 0 || this.#putters.length > 0) return { ok: true, value: this.#poll() };
    return NOT_TAKEN;
  }

  /**
   * Stops the queue: later puts reject with `ClosedError` (`tryPut` returns false) and the puts
   * still waiting reject with it too (their items never entered). With `drain` (the default)
   * takers still receive the items left, then get `ClosedError` and iteration ends; returns [].
   * With `drain: false` the items left are discarded and returned, and waiting takers reject.
   * Calling it again is harmless; `close({ drain: false })` after `close()` discards what is left.
   */
  close(options?: { drain?: boolean }): T[] {
    assertOptions('options', options);
    const drain = options?.drain ?? true;
    if (typeof drain !== 'boolean') {
      throw new TypeError(`Expected \`options.drain\` to be a boolean, got ${describe(drain)}`);
    }
    this.#closed = true;
    for (let putter = this.#putters.shift(); putter !== undefined; putter = this.#putters.shift()) {
      putter.closed();
    }
    const discarded = drain ? [] : this.#items.drain();
    // Discarded items will never be taken, so nobody will mark them done.
    if (discarded.length > 0) this.#markDone(discarded.length);
    // Takers wait only on an empty queue, and nothing can arrive any more.
    for (let taker = this.#takers.shift(); taker !== undefined; taker = this.#takers.shift()) {
      taker.closed();
    }
    return discarded;
  }

  /**
   * Takes items until the queue is closed and drained. Breaking out of `for await` consumes
   * nothing more, and `return()` while a `next()` waits settles it with `{ done: true }`. Each
   * call makes an independent consumer; ending one does not close the queue.
   */
  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    let done = false;
    const pending = new Set<Waiter<T>>();
    const iterator: AsyncIterableIterator<T> = {
      next: (): Promise<IteratorResult<T>> => {
        if (done) return Promise.resolve(DONE);
        if (this.#items.size > 0 || this.#putters.length > 0) {
          return Promise.resolve({ value: this.#poll(), done: false });
        }
        if (this.#closed) {
          done = true;
          return Promise.resolve(DONE);
        }
        return this.#wait(this.#takers, NEXT, undefined, undefined, pending);
      },
      return: (value?: unknown): Promise<IteratorResult<T>> => {
        done = true;
        for (const node of pending) node.leave(DONE, false);
        return Promise.resolve(
          value === undefined ? DONE : ({ done: true, value } as IteratorReturnResult<any>),
        );
      },
      [Symbol.asyncIterator]() {
        return iterator;
      },
    };
    return iterator;
  }

  /**
   * Items put and not yet marked done with `taskDone()`: those in the buffer plus those taken
   * and still being worked on (asyncio's `unfinished_tasks`). Items of waiting putters have
   * not entered and do not count.
   */
  get unfinished(): number {
    return this.#unfinished;
  }

  /**
   * Marks one item taken earlier as finished; `join()` resolves when none is left unfinished.
   * Throws RangeError when called more often than items were taken.
   */
  taskDone(): void {
    const inHand = this.#unfinished - this.#items.size;
    if (inHand <= 0) {
      throw new RangeError(
        `taskDone() was called more often than items were taken (unfinished: ${this.#unfinished}, in the queue: ${this.#items.size})`,
      );
    }
    this.#markDone(1);
  }

  /**
   * Resolves once every item put has been taken and marked done with `taskDone()` (at once if
   * `unfinished` is 0). A closed queue still joins: takers drain it and mark the items done;
   * `close({ drain: false })` counts the discarded items as done. Rejects with `signal.reason`
   * on abort and `TimeoutError` past `timeout`.
   */
  join(options?: WaitOptions): Promise<void> {
    const error = options === undefined ? undefined : checkWaitOptions(options);
    if (error !== undefined) return Promise.reject(error);
    return waitUntilSettled(this.#joins, 'BoundedQueue join', options, this.#unfinished === 0);
  }

  /**
   * A ReadableStream that takes items from this queue as its reader asks for them: it buffers
   * nothing (high-water mark 0), so the queue's backpressure reaches the producers unchanged.
   * It closes when the queue is closed and drained. Cancelling it ends this stream only (like
   * breaking out of `for await`): the queue stays open for its other consumers, and a read
   * still waiting leaves without taking an item.
   */
  readable(): ReadableStream<T> {
    const iterator = this[Symbol.asyncIterator]();
    let cancelled = false;
    return new ReadableStream<T>(
      {
        pull: (controller) => {
          // An item already there is handed over in the same step: nothing can come between.
          const now = this.tryTake();
          if (now.ok) {
            controller.enqueue(now.value);
            return;
          }
          return iterator.next().then((result) => {
            if (cancelled) {
              // Cancelled in the very tick the item was handed over: put it back in front.
              if (!result.done) this.#giveBack(result.value);
              return;
            }
            if (result.done) controller.close();
            else controller.enqueue(result.value);
          });
        },
        cancel: () => {
          cancelled = true;
          void iterator.return?.();
        },
      },
      { highWaterMark: 0 },
    );
  }

  /**
   * A WritableStream that puts each chunk into this queue; a write waits while the queue is
   * full, so `pipeTo` into it is held back by the queue's backpressure. Closing the stream
   * closes the queue (consumers drain what is left). Aborting it withdraws the write in
   * flight (its chunk never enters) and closes the queue. A queue closed by someone else
   * errors the stream with `ClosedError`.
   */
  writable(): WritableStream<T> {
    let signal: AbortSignal | undefined;
    return new WritableStream<T>(
      {
        start: (controller) => {
          // Aborts when the stream is aborted, even while a write waits for room.
          signal = controller.signal;
        },
        write: (chunk) => this.put(chunk, signal === undefined ? undefined : { signal }),
        close: () => {
          this.close();
        },
        abort: () => {
          this.close();
        },
      },
      { highWaterMark: 1 },
    );
  }

  #markDone(count: number): void {
    this.#unfinished -= count;
    if (this.#unfinished > 0) return;
    for (let join = this.#joins.head; join !== undefined; join = this.#joins.head) {
      join.settle(undefined);
    }
  }

  /** An item a consumer took but could not deliver goes back to the head, or to a taker. */
  #giveBack(item: T): void {
    const taker = this.#takers.shift();
    if (taker !== undefined) taker.deliver(item);
    else this.#items.unshift(item);
  }

  /** Hands `item` to the head taker or buffers it; false when it would have to wait. */
  #offer(item: T): boolean {
    const taker = this.#takers.shift();
    if (taker !== undefined) {
      this.#unfinished++;
      taker.deliver(item);
      return true;
    }
    if (this.#items.size < this.#capacity) {
      this.#unfinished++;
      this.#items.push(item);
      return true;
    }
    return false;
  }

  /** Takes the head item; the caller checked that there is one or that a putter waits. */
  #poll(): T {
    const putter = this.#putters.shift();
    if (putter !== undefined) this.#unfinished++;
    if (this.#items.size === 0) {
      // Capacity 0: the item goes from the putter's hands to the taker's.
      return (putter as Waiter<T>).admitted();
    }
    const value = this.#items.shift();
    // A slot is free: the head putter's item enters behind the others, in FIFO order.
    if (putter !== undefined) this.#items.push(putter.admitted());
    return value;
  }

  #wait(
    list: QueueWaiterList<Waiter<T>>,
    kind: WaiterKind,
    item: T | undefined,
    options: WaitOptions | undefined,
    pending: Set<Waiter<T>> | undefined,
  ): Promise<any> {
    const timeout = options?.timeout;
    if (timeout === 0) {
      const what = kind === PUT ? 'put' : 'take';
      return Promise.reject(new TimeoutError(0, `BoundedQueue ${what} timed out after 0 ms`));
    }
    const node = new Waiter<T>(list, kind, item, pending);
    const promise = new Promise<any>((resolve, reject) => {
      node.resolve = resolve;
      node.reject = reject;
    });
    list.push(node);
    pending?.add(node);
    const signal = options?.signal;
    if (signal !== undefined) {
      node.signal = signal;
      signal.addEventListener('abort', node);
    }
    if (timeout !== undefined) {
      node.timeoutMs = timeout;
      node.arm(timeout);
    }
    return promise;
  }
}
