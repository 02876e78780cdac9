import type { LimiterEvent, RejectedReason } from '@sluice/core';
import { RateCounter } from './internal/rate-counter.js';
import { SampleWindow } from './internal/sample-window.js';
import { assertLimiters, SHED_REASONS, type WatchedLimiter } from './watched-limiter.js';

export interface CollectorOptions {
  /** How far back the wait percentiles look, in ms. Default 10 000. */
  windowMs?: number;
  /** At most this many waits are kept for the percentiles (the newest win). Default 10 000. */
  maxSamples?: number;
  /** Clock in ms; injectable for tests. Default `performance.now()`. */
  now?: () => number;
}

/** One limiter, as the dashboard plots it. Totals count requests (events), not weight. */
export interface LimiterSnapshot {
  inFlight: number;
  queued: number;
  capacity: number | null;
  /** Grants since the collector started. */
  admitted: number;
  /** Rejections since the collector started, by reason. */
  shed: Record<RejectedReason, number>;
  /** Grants during the last second. */
  admittedPerSec: number;
  /** Rejections during the last second, by reason. */
  shedPerSec: Record<RejectedReason, number>;
  /** Wait of the grants in the window, in ms; null when there were none. */
  waitP50Ms: number | null;
  waitP99Ms: number | null;
}

export interface Snapshot {
  /** Wall-clock time of the snapshot, in ms since the epoch. */
  t: number;
  limiters: Record<string, LimiterSnapshot>;
}

const byReason = <T>(make: (reason: RejectedReason) => T) =>
  Object.fromEntries(SHED_REASONS.map((reason) => [reason, make(reason)])) as Record<
    RejectedReason,
    T
  >;

class Tally {
  admitted = 0;
  readonly shed = byReason(() => 0);
  readonly admittedRate = new RateCounter();
  readonly shedRate = byReason(() => new RateCounter());
  readonly waits: SampleWindow;

  constructor(windowMs: number, maxSamples: number) {
    this.waits = new SampleWindow(windowMs, maxSamples);
  }
}

/**
 * Subscribes to named limiters and keeps, per limiter, what the dashboard plots: totals and
 * per-second rates of grants and of rejections by reason, and wait percentiles over a sliding
 * window. In-flight and queued are read from each limiter's `stats()` when a snapshot is taken.
 *
 * @example
 * const collector = new Collector({ work: semaphore });
 * collector.snapshot().limiters.work.admittedPerSec;
 * collector.close(); // unsubscribes
 */
export class Collector {
  readonly #limiters: Record<string, WatchedLimiter>;
  readonly #tallies = new Map<string, Tally>();
  readonly #unsubscribes: Array<() => void> = [];
  readonly #now: () => number;

  constructor(limiters: Record<string, WatchedLimiter>, options: CollectorOptions = {}) {
    assertLimiters(limiters);
    const { windowMs = 10_000, maxSamples = 10_000, now = () => performance.now() } = options;
    for (const [name, value] of Object.entries({ windowMs, maxSamples })) {
      if (!Number.isInteger(value) || value < 1) {
        throw new TypeError(`Expected \`${name}\` to be a positive integer, got ${value}`);
      }
    }
    this.#limiters = limiters;
    this.#now = now;
    for (const [name, limiter] of Object.entries(limiters)) {
      const tally = new Tally(windowMs, maxSamples);
      this.#tallies.set(name, tally);
      this.#unsubscribes.push(limiter.subscribe((event) => this.#record(tally, event)));
    }
  }

  #record(tally: Tally, event: LimiterEvent<unknown>): void {
    const now = this.#now();
    if (event.type === 'acquired') {
      tally.admitted++;
      tally.admittedRate.add(now);
      tally.waits.add(now, event.waitedMs);
    } else if (event.type === 'rejected') {
      tally.shed[event.reason]++;
      tally.shedRate[event.reason].add(now);
    }
  }

  snapshot(): Snapshot {
    const now = this.#now();
    const limiters: Record<string, LimiterSnapshot> = {};
    for (const [name, tally] of this.#tallies) {
      const stats = this.#limiters[name]!.stats();
      const [p50, p99] = tally.waits.percentiles(now, [50, 99]);
      limiters[name] = {
        inFlight: stats.inUse ?? 0,
        queued: stats.waiting ?? 0,
        capacity: stats.capacity ?? null,
        admitted: tally.admitted,
        shed: { ...tally.shed },
        admittedPerSec: tally.admittedRate.perSecond(now),
        shedPerSec: byReason((reason) => tally.shedRate[reason].perSecond(now)),
        waitP50Ms: Number.isNaN(p50) ? null : p50!,
        waitP99Ms: Number.isNaN(p99) ? null : p99!,
      };
    }
    return { t: Date.now(), limiters };
  }

  /** Unsubscribes from every limiter; idempotent. */
  close(): void {
    for (const unsubscribe of this.#unsubscribes.splice(0)) unsubscribe();
  }
}
