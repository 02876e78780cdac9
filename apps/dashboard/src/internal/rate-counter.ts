/**
 * Events per second over the last `windowMs`, counted in `slots` time buckets: constant memory,
 * and correct however rarely it is read.
 */
export class RateCounter {
  readonly #slotMs: number;
  readonly #epochs: Float64Array;
  readonly #counts: Float64Array;
  readonly #windowMs: number;

  constructor(windowMs = 1000, slots = 10) {
    this.#windowMs = windowMs;
    this.#slotMs = windowMs / slots;
    this.#epochs = new Float64Array(slots).fill(-1);
    this.#counts = new Float64Array(slots);
  }

  add(now: number, n = 1): void {
    const epoch = Math.floor(now / this.#slotMs);
    const slot = epoch % this.#epochs.length;
    if (this.#epochs[slot] !== epoch) {
      this.#epochs[slot] = epoch; // a bucket from an earlier lap: start it afresh
      this.#counts[slot] = 0;
    }
    this.#counts[slot]! += n;
  }

  perSecond(now: number): number {
    const current = Math.floor(now / this.#slotMs);
    let sum = 0;
    for (let slot = 0; slot < this.#epochs.length; slot++) {
      if (this.#epochs[slot]! > current - this.#epochs.length) sum += this.#counts[slot]!;
    }
    return (sum * 1000) / this.#windowMs;
  }
}
