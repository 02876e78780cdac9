// A growable ring buffer: O(1) push and shift with no Array#shift copying, so a queue at
// capacity 1024 costs the same per item as one at capacity 1. Storage starts small and
// doubles (power-of-two sizes, so wrap-around is a mask), never past what the queue holds.

export class QueueRing<T> {
  #buf: (T | undefined)[];
  #mask: number;
  #head = 0;
  #size = 0;

  constructor(initialSize = 16) {
    let n = 1;
    while (n < initialSize) n *= 2;
    this.#buf = new Array<T | undefined>(n).fill(undefined);
    this.#mask = n - 1;
  }

  get size(): number {
    return this.#size;
  }

  push(item: T): void {
    if (this.#size === this.#buf.length) this.#grow();
    this.#buf[(this.#head + this.#size) & this.#mask] = item;
    this.#size++;
  }

  /** Removes and returns the oldest item; the caller checks `size` first. */
  shift(): T {
    const head = this.#head;
    const item = this.#buf[head] as T;
    // Clear the slot so the ring does not keep a taken item alive.
    this.#buf[head] = undefined;
    this.#head = (head + 1) & this.#mask;
    this.#size--;
    return item;
  }

  /** Puts `item` back in front of the oldest one (an item a consumer took but could not use). */
  unshift(item: T): void {
    if (this.#size === this.#buf.length) this.#grow();
    this.#head = (this.#head - 1) & this.#mask;
    this.#buf[this.#head] = item;
    this.#size++;
  }

  /** Removes every item, oldest first. */
  drain(): T[] {
    const out = new Array<T>(this.#size);
    for (let i = 0; i < out.length; i++) out[i] = this.shift();
    this.#head = 0;
    return out;
  }

  #grow(): void {
    const old = this.#buf;
    const next = new Array<T | undefined>(old.length * 2).fill(undefined);
    for (let i = 0; i < this.#size; i++) next[i] = old[(this.#head + i) & this.#mask];
    this.#buf = next;
    this.#mask = next.length - 1;
    this.#head = 0;
  }
}
