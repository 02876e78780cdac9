// The simulation's clock: a binary heap of timed events. After each event, the promise
// reactions it caused (a grant resolving a waiter, the `.then` that starts the work) must run
// at that event's virtual time, before the clock moves on. Awaiting a setImmediate would drain
// every microtask but costs a macrotask turn per event; instead the loop yields MICROTASK_TURNS
// times, and each turn lets every queued reaction run once, so any chain up to that depth
// completes (the sim's chains are 3 deep: core grant -> permit wrap -> caller's then). The same
// events in the same order take the same turns, so the run stays deterministic either way.

interface Event {
  time: number;
  seq: number;
  run: () => void;
  cancelled: boolean;
}

export interface Scheduled {
  cancel(): void;
}

const MICROTASK_TURNS = 8;

export class EventLoop {
  now = 0;
  #heap: Event[] = [];
  #seq = 0;

  /** The clock to hand to the code under test (`now` option). */
  readonly clock = (): number => this.now;

  at(time: number, run: () => void): Scheduled {
    const event: Event = {
      time: Math.max(time, this.now),
      seq: this.#seq++,
      run,
      cancelled: false,
    };
    const heap = this.#heap;
    heap.push(event);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(event, heap[parent]!)) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = event;
    return {
      cancel: () => {
        event.cancelled = true;
      },
    };
  }

  /** Run every event up to and including `until`, in time order (ties in scheduling order). */
  async runUntil(until: number): Promise<void> {
    const heap = this.#heap;
    while (heap.length > 0 && heap[0]!.time <= until) {
      const event = this.#pop();
      if (event.cancelled) continue;
      this.now = event.time;
      event.run();
      for (let turn = 0; turn < MICROTASK_TURNS; turn++) await null;
    }
    this.now = until;
  }

  #pop(): Event {
    const heap = this.#heap;
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= heap.length) break;
        const right = left + 1;
        const child = right < heap.length && before(heap[right]!, heap[left]!) ? right : left;
        if (!before(heap[child]!, last)) break;
        heap[i] = heap[child]!;
        i = child;
      }
      heap[i] = last;
    }
    return top;
  }
}

function before(a: Event, b: Event): boolean {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq);
}
