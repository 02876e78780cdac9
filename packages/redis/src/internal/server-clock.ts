// Keeps commands that ran late from changing anything.
//
// A command written to a paused Redis (SIGSTOP, a slow fork, DEBUG SLEEP) sits in the socket and
// runs when Redis resumes, long after its caller gave up. Turning the offline queue off does not
// help: the command already left. So every script gets a deadline on Redis's own clock and
// returns STALE, changing nothing, when it runs past it.
//
// The deadline needs the offset between our monotonic clock and Redis's `TIME`. Every reply
// carries Redis's time at execution, so `serverNow - sentAt` is the offset plus that command's
// one-way delay: an upper bound of the true offset. The smallest recent sample is the estimate.
// Commands that run within the timeout are therefore never refused (the estimate can only be
// too lenient, by the smallest delay seen). Samples age out (two windows of WINDOW_MS) so the
// estimate follows drift, and a STALE reply that arrived in time (the server's clock stepped
// forward) resets it. No decision ever reads this clock: it only bounds staleness, and the start of a lease granted
// by message (earliestLocal).

const WINDOW_MS = 5_000;

export class ServerClock {
  #current = Number.POSITIVE_INFINITY;
  #previous = Number.POSITIVE_INFINITY;
  #windowStart = Number.NEGATIVE_INFINITY;

  /** Records a reply: Redis's time in µs when it ran, and our send time in ms (monotonic). */
  sample(serverNowUs: number, sentAtMs: number): void {
    this.#roll(sentAtMs);
    const offset = serverNowUs - sentAtMs * 1000;
    if (offset < this.#current) this.#current = offset;
  }

  /** Forget every sample (the server's clock stepped). */
  reset(): void {
    this.#current = Number.POSITIVE_INFINITY;
    this.#previous = Number.POSITIVE_INFINITY;
  }

  /**
   * Redis's time (µs) matching our monotonic `giveUpAtMs`, the moment the caller stops waiting:
   * the latest time a command may still run. 0 (no deadline) while nothing recent is known.
   */
  deadline(nowMs: number, giveUpAtMs: number): number {
    this.#roll(nowMs);
    const offset = Math.min(this.#current, this.#previous);
    if (!Number.isFinite(offset)) return 0;
    return Math.ceil(offset + giveUpAtMs * 1000);
  }

  /**
   * The earliest moment on our monotonic clock (ms) at which Redis's clock can have read
   * `serverUs`: the offset estimate is an upper bound of the true offset, so this is never later
   * than the truth. Undefined while nothing recent is known. Used to start a lease that Redis
   * granted without our asking (a hand-off by message) no later than Redis started it.
   */
  earliestLocal(serverUs: number, nowMs: number): number | undefined {
    this.#roll(nowMs);
    const offset = Math.min(this.#current, this.#previous);
    if (!Number.isFinite(offset)) return undefined;
    return (serverUs - offset) / 1000;
  }

  #roll(nowMs: number): void {
    if (nowMs - this.#windowStart < WINDOW_MS) return;
    this.#previous =
      nowMs - this.#windowStart < 2 * WINDOW_MS ? this.#current : Number.POSITIVE_INFINITY;
    this.#current = Number.POSITIVE_INFINITY;
    this.#windowStart = nowMs;
  }
}
