/**
 * The values seen during the last `windowMs`, kept exactly in a fixed ring (the newest
 * `maxSamples` win when more arrive), so percentiles are exact and memory is bounded.
 */
export class SampleWindow {
  readonly #times: Float64Array;
  readonly #values: Float64Array;
  readonly #windowMs: number;
  #start = 0; // index of the oldest sample
  #size = 0;

  constructor(windowMs: number, maxSamples: number) {
    this.#windowMs = windowMs;
    this.#times = new Float64Array(maxSamples);
    this.#values = new Float64Array(maxSamples);
  }

  add(now: number, value: number): void {
    const capacity = this.#times.length;
    const slot = (this.#start + this.#size) % capacity;
    this.#times[slot] = now;
    this.#values[slot] = value;
    if (this.#size < capacity) this.#size++;
    else this.#start = (this.#start + 1) % capacity; // full: the oldest makes room
  }

  /** Nearest-rank percentiles (`p` in 0..100) of what is younger than the window; NaN if empty. */
  percentiles(now: number, ps: readonly number[]): number[] {
    this.#expire(now);
    if (this.#size === 0) return ps.map(() => Number.NaN);
    const sorted = new Float64Array(this.#size);
    for (let i = 0; i < this.#size; i++) {
      sorted[i] = this.#values[(this.#start + i) % this.#times.length]!;
    }
    sorted.sort();
    return ps.map(
      (p) => sorted[Math.min(this.#size - 1, Math.max(0, Math.ceil((p / 100) * this.#size) - 1))]!,
    );
  }

  #expire(now: number): void {
    const capacity = this.#times.length;
    while (this.#size > 0 && this.#times[this.#start]! <= now - this.#windowMs) {
      this.#start = (this.#start + 1) % capacity;
      this.#size--;
    }
  }
}
