// One timer for every bucket that shares a config: a min-heap of the buckets whose head waiter
// needs a wake-up, ordered by when, and a single timer for the earliest. A KeyedTokenBucket
// with waiters on ten thousand keys still runs one timer.

import { clearTimer, setTimer, type TimerHandle } from './clock.js';

// setTimeout fires at once for delays above 2^31 - 1 ms; longer waits re-arm when it fires.
const MAX_TIMER_MS = 2_147_483_647;

/** What the scheduler needs of a bucket. */
export interface Scheduled {
  /** Clock time (ms) the bucket wants to be woken at. */
  due: number;
  /** Position in the heap, -1 when not scheduled. */
  slot: number;
  wake(): void;
}

export class BucketScheduler {
  readonly #now: () => number;
  readonly #heap: Scheduled[] = [];
  #timer: TimerHandle | undefined;
  #timerDue = Number.POSITIVE_INFINITY;

  constructor(now: () => number) {
    this.#now = now;
  }

  /** Wake `item` in `ms` (replacing any earlier request of it). */
  arm(item: Scheduled, ms: number): void {
    item.due = this.#now() + ms;
    if (item.slot < 0) {
      item.slot = this.#heap.length;
      this.#heap.push(item);
    }
    this.#fix(item.slot);
    this.#reset();
  }

  disarm(item: Scheduled): void {
    if (item.slot < 0) return;
    this.#remove(item);
    this.#reset();
  }

  #remove(item: Scheduled): void {
    const last = this.#heap.pop()!;
    if (last !== item) {
      this.#heap[item.slot] = last;
      last.slot = item.slot;
      this.#fix(last.slot);
    }
    item.slot = -1;
  }

  /** Point the one timer at the earliest due item, or clear it when there is none. */
  #reset(): void {
    const top = this.#heap[0];
    if (top !== undefined && this.#timer !== undefined && this.#timerDue === top.due) return;
    if (this.#timer !== undefined) {
      clearTimer(this.#timer);
      this.#timer = undefined;
      this.#timerDue = Number.POSITIVE_INFINITY;
    }
    if (top === undefined) return;
    this.#timerDue = top.due;
    const ms = Math.min(MAX_TIMER_MS, Math.max(1, Math.ceil(top.due - this.#now())));
    this.#timer = setTimer(this.#fire, ms);
  }

  readonly #fire = (): void => {
    this.#timer = undefined;
    this.#timerDue = Number.POSITIVE_INFINITY;
    const now = this.#now();
    // A woken bucket re-arms itself for a later time (at least 1 ms on), so this ends.
    let top = this.#heap[0];
    while (top !== undefined && top.due <= now) {
      this.#remove(top);
      top.wake();
      top = this.#heap[0];
    }
    this.#reset();
  };

  #fix(slot: number): void {
    const heap = this.#heap;
    const item = heap[slot]!;
    // Up...
    while (slot > 0) {
      const parent = (slot - 1) >> 1;
      const above = heap[parent]!;
      if (above.due <= item.due) break;
      heap[slot] = above;
      above.slot = slot;
      slot = parent;
    }
    // ...or down.
    for (;;) {
      const left = 2 * slot + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child = right < heap.length && heap[right]!.due < heap[left]!.due ? right : left;
      const below = heap[child]!;
      if (below.due >= item.due) break;
      heap[slot] = below;
      below.slot = slot;
      slot = child;
    }
    heap[slot] = item;
    item.slot = slot;
  }
}
