import {
  type Attributes,
  type BatchObservableCallback,
  type Meter,
  metrics,
  type Observable,
} from '@opentelemetry/api';
import type { LimiterEvent } from '@sluice/core';

/** Anything with sluice's `subscribe`: every limiter of `@sluice/core`, and your own. */
export interface InstrumentableLimiter {
  subscribe(listener: (event: LimiterEvent<any>) => void): () => void;
  /**
   * Called with no argument for the gauges; used when it returns an object (`inUse`,
   * `waiting`, `capacity`, `limit`). KeyedSemaphore's `stats(key)` returns undefined then.
   */
  stats?(...args: never[]): unknown;
}

export interface InstrumentOptions {
  /** The limiter's name: the `sluice.limiter.name` attribute of every measurement. */
  name: string;
  /** Where the instruments are made. Default: `metrics.getMeter('@sluice/otel')` (the global provider). */
  meter?: Meter;
  /** More attributes on every measurement (e.g. `{ 'service.route': '/report' }`). Keys are never added. */
  attributes?: Attributes;
}

/** The instrument names, exported so dashboards and tests need not repeat the strings. */
export const METRICS = {
  inUse: 'sluice.limiter.in_use',
  waiting: 'sluice.limiter.waiting',
  capacity: 'sluice.limiter.capacity',
  limit: 'sluice.limiter.limit',
  acquired: 'sluice.limiter.acquired',
  rejected: 'sluice.limiter.rejected',
  waitDuration: 'sluice.limiter.wait.duration',
  holdDuration: 'sluice.limiter.hold.duration',
} as const;

/** Attribute names. */
export const ATTRIBUTES = {
  name: 'sluice.limiter.name',
  reason: 'sluice.limiter.rejection.reason',
} as const;

/**
 * Bucket boundaries in seconds for waits and holds of an in-process limiter: a separate bucket
 * for "did not wait" (0), then from 1 ms up to 10 s.
 */
export const DURATION_BUCKETS: readonly number[] = [
  0, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

const GAUGES = [
  ['inUse', METRICS.inUse, 'Permits held now', '{permit}'],
  ['waiting', METRICS.waiting, 'Requests waiting in the queue now', '{request}'],
  ['capacity', METRICS.capacity, 'Permits the limiter admits at once', '{permit}'],
  ['limit', METRICS.limit, 'The current limit of an adaptive limiter', '{permit}'],
] as const;

type GaugeField = (typeof GAUGES)[number][0];

function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null) return 'null';
  if (typeof value === 'object') return Array.isArray(value) ? 'an array' : 'an object';
  if (typeof value === 'function') return 'a function';
  return String(value);
}

type Gauges = Partial<Record<GaugeField, unknown>>;

// The gauges' source: `stats()` when it returns an object (or a promise of one: a Redis
// limiter's stats are read from Redis), else the limiter's own getters (TokenBucket has
// `waiting` and `capacity` but no stats()). A keyed limiter's `stats(key)` is not called: it
// needs a key.
function readGauges(limiter: InstrumentableLimiter): Gauges | PromiseLike<Gauges | undefined> {
  const stats =
    typeof limiter.stats === 'function' && limiter.stats.length === 0 ? limiter.stats() : undefined;
  if (typeof (stats as PromiseLike<unknown> | undefined)?.then === 'function') {
    return stats as PromiseLike<Gauges | undefined>;
  }
  return typeof stats === 'object' && stats !== null ? (stats as Gauges) : (limiter as Gauges);
}

/**
 * Record a limiter's metrics with OpenTelemetry until the returned function is called:
 * gauges `sluice.limiter.in_use`, `.waiting`, `.capacity` (`.limit` for an adaptive limiter),
 * counters `sluice.limiter.acquired` and `sluice.limiter.rejected` (attribute
 * `sluice.limiter.rejection.reason`), and histograms `sluice.limiter.wait.duration` (granted
 * requests) and `sluice.limiter.hold.duration`, in seconds. Every measurement carries
 * `sluice.limiter.name` and `options.attributes`. The stop function (idempotent) unsubscribes
 * and removes the gauges' callback.
 *
 * @example
 * ```ts
 * import { Semaphore } from '@sluice/core';
 * import { instrument } from '@sluice/otel';
 *
 * const reports = new Semaphore(4, { maxWaiting: 8 });
 * const stop = instrument(reports, { name: 'reports' });
 * // ... on shutdown:
 * stop();
 * ```
 */
export function instrument(limiter: InstrumentableLimiter, options: InstrumentOptions): () => void {
  if (
    (typeof limiter !== 'object' && typeof limiter !== 'function') ||
    limiter === null ||
    typeof limiter.subscribe !== 'function'
  ) {
    throw new TypeError(
      `Expected \`limiter\` to have a subscribe() method (a sluice limiter), got ${describeValue(limiter)}`,
    );
  }
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(
      `Expected \`options\` to be an object with a \`name\`, got ${describeValue(options)}`,
    );
  }
  const { name, attributes } = options;
  if (typeof name !== 'string' || name === '') {
    throw new TypeError(
      `Expected \`options.name\` to be a non-empty string, got ${describeValue(name)}`,
    );
  }
  if (attributes !== undefined && (typeof attributes !== 'object' || attributes === null)) {
    throw new TypeError(
      `Expected \`options.attributes\` to be an object, got ${describeValue(attributes)}`,
    );
  }
  const meter = options.meter ?? metrics.getMeter('@sluice/otel');
  const base: Attributes = { ...attributes, [ATTRIBUTES.name]: name };
  // One attributes object per reason, made once: recording allocates nothing of ours.
  const byReason = new Map<string, Attributes>();

  const acquired = meter.createCounter(METRICS.acquired, {
    description: 'Requests granted, at once or after a wait',
    unit: '{request}',
  });
  const rejected = meter.createCounter(METRICS.rejected, {
    description: 'Requests not served, by reason',
    unit: '{request}',
  });
  const waitDuration = meter.createHistogram(METRICS.waitDuration, {
    description: 'Time granted requests waited in the queue (0 when served at once)',
    unit: 's',
    advice: { explicitBucketBoundaries: [...DURATION_BUCKETS] },
  });
  const holdDuration = meter.createHistogram(METRICS.holdDuration, {
    description: 'Time permits were held, from grant to release',
    unit: 's',
    advice: { explicitBucketBoundaries: [...DURATION_BUCKETS] },
  });

  const gauges = GAUGES.map(
    ([field, metric, description, unit]) =>
      [field, meter.createObservableGauge(metric, { description, unit })] as const,
  );
  const observables: Observable[] = gauges.map(([, gauge]) => gauge);
  const observe: BatchObservableCallback = (result) => {
    const record = (values: Gauges | undefined) => {
      for (const [field, gauge] of gauges) {
        const value = values?.[field];
        if (typeof value === 'number' && Number.isFinite(value)) result.observe(gauge, value, base);
      }
    };
    const values = readGauges(limiter);
    if (!('then' in values && typeof values.then === 'function')) return record(values as Gauges);
    // Observed when the read answers; a read that fails (Redis down) observes nothing.
    return Promise.resolve(values).then(record, () => {});
  };
  meter.addBatchObservableCallback(observe, observables);

  const unsubscribe = limiter.subscribe((event) => {
    switch (event.type) {
      case 'acquired':
        acquired.add(1, base);
        waitDuration.record(event.waitedMs / 1000, base);
        break;
      case 'released':
        holdDuration.record(event.heldMs / 1000, base);
        break;
      case 'rejected': {
        let withReason = byReason.get(event.reason);
        if (withReason === undefined) {
          withReason = { ...base, [ATTRIBUTES.reason]: event.reason };
          byReason.set(event.reason, withReason);
        }
        rejected.add(1, withReason);
        break;
      }
    }
  });

  let stopped = false;
  return function stop(): void {
    if (stopped) return;
    stopped = true;
    unsubscribe();
    meter.removeBatchObservableCallback(observe, observables);
  };
}
