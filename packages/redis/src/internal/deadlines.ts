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
  #queue: Array<Expiring | undefined> = [];
  #head = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(now: () => number) {
    this.#now = now;
  }

  /** Watches `item` until it is done or its deadline passes (then `expire()` is called). */
  add(item: Expiring): void {
    this.#queue.push(item);
    if (this.#timer === undefined) this.#arm();
  }

  /**
   * Drops settled commands from the front. Called on every settle: replies come back in send
   * order on one connection, so the queue holds about what is in flight, not every command of
   * the last timeout (which would keep thousands of objects alive for the collector to move).
   */
  prune(): void {
    const queue = this.#queue;
    while (this.#head < queue.length && queue[this.#head]!.done) queue[this.#head++] = undefined;
    if (this.#head === queue.length) {
      queue.length = 0;
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > queue.length) {
      this.#queue = queue.slice(this.#head);
      this.#head = 0;
    }
  }

  #arm(): void {
    this.prune();
    const next = this.#queue[this.#head];
    if (next === undefined) {
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
    while (this.#head < this.#queue.length) {
      const item = this.#queue[this.#head]!;
      if (!item.done) {
        if (item.deadline > now + 0.5) break;
        item.done = true;
        item.expire();
      }
      this.#queue[this.#head++] = undefined;
    }
    this.#arm();
  }
}
