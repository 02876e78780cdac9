// With Redis down, each request would otherwise wait out the command timeout. After `threshold`
// consecutive failures the breaker opens: calls fail at once for `coolDown` ms. Then one call is
// let through as a probe; its success closes the breaker, its failure opens it again.

export type BreakerState = 'closed' | 'open' | 'half-open';

export class CircuitBreaker {
  readonly #threshold: number;
  readonly #coolDown: number;
  readonly #now: () => number;
  #failures = 0;
  #state: BreakerState = 'closed';
  #openUntil = 0;
  #probing = false;

  constructor(threshold: number, coolDown: number, now: () => number) {
    this.#threshold = threshold;
    this.#coolDown = coolDown;
    this.#now = now;
  }

  get state(): BreakerState {
    return this.#state;
  }

  /**
   * May a call go to Redis now? Returns 'probe' for the one call let through after a cool-down
   * (report its outcome with `success`/`failure`), true while closed, false while open.
   */
  admit(): boolean | 'probe' {
    if (this.#state === 'closed') return true;
    if (this.#state === 'open') {
      if (this.#now() < this.#openUntil) return false;
      this.#state = 'half-open';
    }
    if (this.#probing) return false;
    this.#probing = true;
    return 'probe';
  }

  /** Redis answered (any reply, even an error reply): it is reachable, so the breaker closes. */
  success(probe: boolean): void {
    if (probe) this.#probing = false;
    this.#failures = 0;
    this.#state = 'closed';
  }

  /**
   * Redis did not answer in time or the connection failed. Returns true when this failure
   * opened the breaker. Late failures of calls sent before it opened change nothing.
   */
  failure(probe: boolean): boolean {
    if (probe) {
      this.#probing = false;
      this.#open();
      return true;
    }
    if (this.#state !== 'closed') return false;
    if (++this.#failures < this.#threshold) return false;
    this.#open();
    return true;
  }

  #open(): void {
    this.#state = 'open';
    this.#openUntil = this.#now() + this.#coolDown;
  }
}
