import type { LimiterEvent } from '@sluice/core';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { assertLimiters, SHED_REASONS, type WatchedLimiter } from './watched-limiter.js';

/** Wait and hold buckets, in seconds: 1 ms to 10 s. */
const BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * Named limiters in Prometheus text format, on a registry of its own (prom-client's global
 * registry stays untouched). The names follow `@sluice/otel`'s `sluice.limiter.*` with
 * Prometheus' underscores and units, every series labelled `limiter`:
 *
 * - `sluice_limiter_in_use`, `sluice_limiter_waiting`, `sluice_limiter_capacity` (gauges, read
 *   from `stats()` at scrape time)
 * - `sluice_limiter_acquired_total`, `sluice_limiter_released_total`,
 *   `sluice_limiter_rejected_total{reason}` (counters, from events)
 * - `sluice_limiter_wait_duration_seconds`, `sluice_limiter_hold_duration_seconds` (histograms, from events)
 */
export class PrometheusMetrics {
  readonly registry = new Registry();
  readonly #unsubscribes: Array<() => void> = [];

  constructor(limiters: Record<string, WatchedLimiter>) {
    assertLimiters(limiters);
    const registers = [this.registry];
    const labelNames = ['limiter'] as const;
    const gauge = (name: string, help: string, read: (limiter: WatchedLimiter) => unknown) =>
      new Gauge({
        name,
        help,
        labelNames,
        registers,
        collect() {
          for (const [limiter, watched] of Object.entries(limiters)) {
            const value = read(watched);
            if (typeof value === 'number') this.set({ limiter }, value);
          }
        },
      });
    gauge('sluice_limiter_in_use', 'Permits held now.', (l) => l.stats().inUse);
    gauge('sluice_limiter_waiting', 'Requests waiting in the queue now.', (l) => l.stats().waiting);
    gauge(
      'sluice_limiter_capacity',
      'Permits the limiter grants at once.',
      (l) => l.stats().capacity,
    );

    const acquired = new Counter({
      name: 'sluice_limiter_acquired_total',
      help: 'Grants, at once or after a wait.',
      labelNames,
      registers,
    });
    const released = new Counter({
      name: 'sluice_limiter_released_total',
      help: 'Permits given back.',
      labelNames,
      registers,
    });
    const rejected = new Counter({
      name: 'sluice_limiter_rejected_total',
      help: 'Requests not served, by reason.',
      labelNames: ['limiter', 'reason'] as const,
      registers,
    });
    const wait = new Histogram({
      name: 'sluice_limiter_wait_duration_seconds',
      help: 'Time a grant waited in the queue.',
      labelNames,
      buckets: BUCKETS,
      registers,
    });
    const hold = new Histogram({
      name: 'sluice_limiter_hold_duration_seconds',
      help: 'Time a permit was held.',
      labelNames,
      buckets: BUCKETS,
      registers,
    });

    for (const [limiter, watched] of Object.entries(limiters)) {
      // Every series exists from the start, at 0, so a rate() over the first rejection is right.
      const acquiredOf = acquired.labels({ limiter });
      acquiredOf.inc(0);
      const releasedOf = released.labels({ limiter });
      releasedOf.inc(0);
      const rejectedOf = Object.fromEntries(
        SHED_REASONS.map((reason) => [reason, rejected.labels({ limiter, reason })]),
      );
      for (const child of Object.values(rejectedOf)) child.inc(0);
      const waitOf = wait.labels({ limiter });
      const holdOf = hold.labels({ limiter });
      wait.zero({ limiter });
      hold.zero({ limiter });
      this.#unsubscribes.push(
        watched.subscribe((event: LimiterEvent<unknown>) => {
          if (event.type === 'acquired') {
            acquiredOf.inc();
            waitOf.observe(event.waitedMs / 1000);
          } else if (event.type === 'released') {
            releasedOf.inc();
            holdOf.observe(event.heldMs / 1000);
          } else if (event.type === 'rejected') {
            rejectedOf[event.reason]?.inc();
          }
        }),
      );
    }
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The exposition text, as GET /metrics serves it. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  /** Unsubscribes from every limiter; idempotent. */
  close(): void {
    for (const unsubscribe of this.#unsubscribes.splice(0)) unsubscribe();
  }
}
