// The command timeout without a timer per command. Every command of a store gets the same
// timeout, so deadlines arrive in the order commands were sent: a FIFO of in-flight commands and
// one timer, armed for the oldest unsettled one, is enough.

export interface Expiring {
  readonly deadline: number;
  /** Set once the command settled (answered, failed or expired). */
  done: boolean;
  expire(): void;
}

export class Deadlines {
  readonly #now: () => number;
  // The unsettled commands are queue[head..tail); slots before head are cleared. An emptied
  // queue is reused from its start (not truncated: that is a call per settle).
  #queue: Array<Expiring | undefined> = [];
  #head = 0;
  #tail = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(now: () => number) {
    this.#now = now;
  }

  /** Watches `item` until it is done or its deadline passes (then `expire()` is called). */
  add(item: Expiring): void {
    const queue = this.#queue;
    if (this.#tail < queue.length) queue[this.#tail] = item;
    else queue.push(item);
    this.#tail++;
    if (this.#timer === undefined) this.#arm();
  }

  /**
   * Drops settled commands from the front. Called on every settle: replies come back in send
   * order on one connection, so the queue holds about what is in flight, not every command of
   * the last timeout (which would keep thousands of objects alive for the collector to move).
   */
  prune(): void {
    const queue = this.#queue;
    const tail = this.#tail;
    let head = this.#head;
    while (head < tail && queue[head]!.done) queue[head++] = undefined;
    if (head === tail) {
      this.#head = 0;
      this.#tail = 0;
      // Once a burst is over, let a large array go.
      if (queue.length > 1024) this.#queue = [];
    } else if (head > 1024 && head * 2 > tail) {
      this.#queue = queue.slice(head, tail);
      this.#head = 0;
      this.#tail = tail - head;
    } else this.#head = head;
  }

  #arm(): void {
    this.prune();
    const next = this.#queue[this.#head];
    if (this.#head === this.#tail || next === undefined) {
      this.#timer = undefined;
      return;
    }
    this.#timer = setTimeout(() => this.#fire(), Math.max(0, next.deadline - this.#now()));
    // An idle store must not keep the process alive; a command in flight keeps its socket open.
    this.#timer.unref?.();
  }

  #fire(): void {
    const now = this.#now();
    // Timers may fire a fraction of a millisecond early: allow for it.
    while (this.#head < this.#tail) {
      const item = this.#queue[this.#head]!;
      if (!item.done && item.deadline > now + 0.5) break;
      // Off the queue before expire(), which may add and prune (a caller retrying at once).
      this.#queue[this.#head++] = undefined;
      if (!item.done) {
        item.done = true;
        item.expire();
      }
    }
    this.#arm();
  }
}
