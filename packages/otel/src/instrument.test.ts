import { metrics } from '@opentelemetry/api';
import {
  type DataPoint,
  type Histogram,
  MeterProvider,
  type MetricData,
  MetricReader,
} from '@opentelemetry/sdk-metrics';
import { KeyedSemaphore, QueueFullError, Semaphore, TimeoutError, TokenBucket } from '@sluice/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ATTRIBUTES, DURATION_BUCKETS, instrument, METRICS } from './instrument.js';

// A reader that collects on demand: what an exporter would receive, read synchronously.
class TestReader extends MetricReader {
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

async function setup() {
  const reader = new TestReader();
  const provider = new MeterProvider({ readers: [reader] });
  const meter = provider.getMeter('test');
  const collect = async (): Promise<Map<string, MetricData>> => {
    const { resourceMetrics, errors } = await reader.collect();
    expect(errors).toEqual([]);
    const out = new Map<string, MetricData>();
    for (const scope of resourceMetrics.scopeMetrics) {
      for (const metric of scope.metrics) out.set(metric.descriptor.name, metric);
    }
    return out;
  };
  return { provider, meter, collect };
}

function points(metric: MetricData | undefined): Array<DataPoint<unknown>> {
  return (metric?.dataPoints ?? []) as Array<DataPoint<unknown>>;
}

/** The single data point of a metric, checked to carry exactly `attributes`. */
function only(metric: MetricData | undefined, attributes: Record<string, unknown>) {
  const all = points(metric);
  expect(all).toHaveLength(1);
  expect(all[0]!.attributes).toEqual(attributes);
  return all[0]!.value;
}

const ATTRS = { [ATTRIBUTES.name]: 'reports', 'deployment.environment.name': 'test' };

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance', 'Date'] });
});

afterEach(() => {
  vi.useRealTimers();
  metrics.disable();
});

describe('instrument(semaphore)', () => {
  it('names, units, attributes and values after a scripted sequence', async () => {
    const { meter, collect } = await setup();
    const sem = new Semaphore(2, { maxWaiting: 1 });
    instrument(sem, {
      name: 'reports',
      meter,
      attributes: { 'deployment.environment.name': 'test' },
    });

    const a = await sem.acquire();
    const b = await sem.acquire();
    const c = sem.acquire();
    await expect(sem.acquire()).rejects.toBeInstanceOf(QueueFullError);
    vi.advanceTimersByTime(10);
    a.release(); // held 10 ms; c waited 10 ms
    const permitC = await c;
    vi.advanceTimersByTime(5);

    let data = await collect();
    expect(only(data.get(METRICS.inUse), ATTRS)).toBe(2);
    expect(only(data.get(METRICS.waiting), ATTRS)).toBe(0);
    expect(only(data.get(METRICS.capacity), ATTRS)).toBe(2);
    expect(data.has(METRICS.limit)).toBe(false); // a Semaphore has no adaptive limit
    expect(only(data.get(METRICS.acquired), ATTRS)).toBe(3);
    expect(only(data.get(METRICS.rejected), { ...ATTRS, [ATTRIBUTES.reason]: 'queue_full' })).toBe(
      1,
    );
    const wait = only(data.get(METRICS.waitDuration), ATTRS) as Histogram;
    expect(wait.count).toBe(3);
    expect(wait.sum).toBeCloseTo(0.01, 9);
    expect(wait.min).toBe(0);
    expect(wait.max).toBeCloseTo(0.01, 9);
    expect(wait.buckets.boundaries).toEqual(DURATION_BUCKETS);
    const hold = only(data.get(METRICS.holdDuration), ATTRS) as Histogram;
    expect(hold.count).toBe(1);
    expect(hold.sum).toBeCloseTo(0.01, 9);

    for (const [name, unit] of [
      [METRICS.inUse, '{permit}'],
      [METRICS.waiting, '{request}'],
      [METRICS.capacity, '{permit}'],
      [METRICS.acquired, '{request}'],
      [METRICS.rejected, '{request}'],
      [METRICS.waitDuration, 's'],
      [METRICS.holdDuration, 's'],
    ] as const) {
      expect(data.get(name)?.descriptor.unit, name).toBe(unit);
      expect(data.get(name)?.descriptor.description, name).not.toBe('');
    }

    // A timed-out wait and a close: rejected by reason, one series each.
    const timed = sem.acquire({ timeout: 20 });
    const timedOut = expect(timed).rejects.toBeInstanceOf(TimeoutError);
    expect(sem.waiting).toBe(1);
    data = await collect();
    expect(only(data.get(METRICS.waiting), ATTRS)).toBe(1);
    await vi.advanceTimersByTimeAsync(20);
    await timedOut;
    const closing = sem.acquire();
    sem.close();
    await expect(closing).rejects.toThrow();
    b.release();
    permitC.release();

    data = await collect();
    const rejected = points(data.get(METRICS.rejected));
    expect(
      Object.fromEntries(rejected.map((p) => [p.attributes[ATTRIBUTES.reason], p.value])),
    ).toEqual({ queue_full: 1, queue_timeout: 1, closed: 1 });
    for (const p of rejected) expect(p.attributes[ATTRIBUTES.name]).toBe('reports');
    expect(only(data.get(METRICS.inUse), ATTRS)).toBe(0);
    const holds = only(data.get(METRICS.holdDuration), ATTRS) as Histogram;
    expect(holds.count).toBe(3);
    // a: 10 ms; b: 0..35 ms; c: 10..35 ms.
    expect(holds.sum).toBeCloseTo(0.01 + 0.035 + 0.025, 9);
  });

  it('stop() unsubscribes and removes the gauges; it is idempotent', async () => {
    const { meter, collect } = await setup();
    const sem = new Semaphore(1);
    const stop = instrument(sem, { name: 'db', meter });
    (await sem.acquire()).release();
    stop();
    stop();
    (await sem.acquire()).release();
    const data = await collect();
    expect(only(data.get(METRICS.acquired), { [ATTRIBUTES.name]: 'db' })).toBe(1);
    expect(points(data.get(METRICS.inUse))).toEqual([]);
    expect(points(data.get(METRICS.capacity))).toEqual([]);
  });

  it('two limiters on one meter: one series each, told apart by name', async () => {
    const { meter, collect } = await setup();
    const a = new Semaphore(1);
    const b = new Semaphore(3);
    instrument(a, { name: 'a', meter });
    instrument(b, { name: 'b', meter });
    a.tryAcquire();
    b.tryAcquire();
    b.tryAcquire();
    const data = await collect();
    const byName = (metric: string) =>
      Object.fromEntries(
        points(data.get(metric)).map((p) => [p.attributes[ATTRIBUTES.name], p.value]),
      );
    expect(byName(METRICS.capacity)).toEqual({ a: 1, b: 3 });
    expect(byName(METRICS.acquired)).toEqual({ a: 1, b: 2 });
  });

  it('the global meter provider by default', async () => {
    const { provider, collect } = await setup();
    metrics.setGlobalMeterProvider(provider);
    const sem = new Semaphore(1);
    instrument(sem, { name: 'global' });
    sem.tryAcquire();
    const data = await collect();
    expect(only(data.get(METRICS.acquired), { [ATTRIBUTES.name]: 'global' })).toBe(1);
  });
});

describe('instrument(other limiters)', () => {
  it('a TokenBucket: gauges from its getters, rate_limited refusals, no hold times', async () => {
    const { meter, collect } = await setup();
    const bucket = new TokenBucket({ capacity: 2, refillPerSecond: 10 });
    instrument(bucket, { name: 'api', meter });
    bucket.tryTake(2);
    bucket.tryTake();
    const waiting = bucket.take();
    const attrs = { [ATTRIBUTES.name]: 'api' };
    let data = await collect();
    expect(only(data.get(METRICS.waiting), attrs)).toBe(1);
    expect(only(data.get(METRICS.capacity), attrs)).toBe(2);
    expect(points(data.get(METRICS.inUse))).toEqual([]);
    expect(
      only(data.get(METRICS.rejected), { ...attrs, [ATTRIBUTES.reason]: 'rate_limited' }),
    ).toBe(1);
    await vi.advanceTimersByTimeAsync(100);
    await waiting;
    data = await collect();
    expect(only(data.get(METRICS.acquired), attrs)).toBe(2);
    const wait = only(data.get(METRICS.waitDuration), attrs) as Histogram;
    expect(wait.sum).toBeCloseTo(0.1, 9);
    expect(points(data.get(METRICS.holdDuration))).toEqual([]);
  });

  it('a KeyedSemaphore: events without the key as an attribute (bounded cardinality)', async () => {
    const { meter, collect } = await setup();
    const keyed = new KeyedSemaphore<string>(1, { maxKeys: 1 });
    instrument(keyed, { name: 'per-user', meter });
    const held = await keyed.acquire('alice');
    await expect(keyed.acquire('bob')).rejects.toBeInstanceOf(QueueFullError);
    held.release();
    const data = await collect();
    const attrs = { [ATTRIBUTES.name]: 'per-user' };
    expect(only(data.get(METRICS.acquired), attrs)).toBe(1);
    expect(only(data.get(METRICS.rejected), { ...attrs, [ATTRIBUTES.reason]: 'queue_full' })).toBe(
      1,
    );
    // stats() needs a key: no limiter-wide gauges.
    expect(points(data.get(METRICS.inUse))).toEqual([]);
  });

  it('a limiter with stats().limit reports the limit gauge', async () => {
    const { meter, collect } = await setup();
    const limiter = {
      subscribe: () => () => {},
      stats: () => ({ inUse: 1, waiting: 0, limit: 7, capacity: Number.NaN }),
    };
    instrument(limiter, { name: 'adaptive', meter });
    const data = await collect();
    expect(only(data.get(METRICS.limit), { [ATTRIBUTES.name]: 'adaptive' })).toBe(7);
    expect(points(data.get(METRICS.capacity))).toEqual([]);
  });

  it('a limiter whose stats() is a promise (a Redis one) is read at collection; a failed read observes nothing', async () => {
    const { meter, collect } = await setup();
    let up = true;
    const remote = {
      subscribe: () => () => {},
      stats: () =>
        up
          ? Promise.resolve({ inUse: 3, waiting: 2, capacity: 5 })
          : Promise.reject(new Error('Redis is unavailable')),
    };
    instrument(remote, { name: 'fleet', meter });
    const attrs = { [ATTRIBUTES.name]: 'fleet' };
    let data = await collect();
    expect(only(data.get(METRICS.inUse), attrs)).toBe(3);
    expect(only(data.get(METRICS.waiting), attrs)).toBe(2);
    expect(only(data.get(METRICS.capacity), attrs)).toBe(5);
    up = false;
    const unhandled = vi.fn();
    process.on('unhandledRejection', unhandled);
    try {
      // No error reported (collect() checks) and no new point: the SDK keeps the last one.
      data = await collect();
      expect(only(data.get(METRICS.inUse), attrs)).toBe(3);
      await Promise.resolve();
      expect(unhandled).not.toHaveBeenCalled();
    } finally {
      process.off('unhandledRejection', unhandled);
    }
  });
});

describe('bad arguments', () => {
  it('throws TypeErrors naming the argument and the value', () => {
    expect(() => instrument({} as never, { name: 'x' })).toThrow(
      new TypeError(
        'Expected `limiter` to have a subscribe() method (a sluice limiter), got an object',
      ),
    );
    const sem = new Semaphore(1);
    expect(() => instrument(sem, undefined as never)).toThrow(
      new TypeError('Expected `options` to be an object with a `name`, got undefined'),
    );
    expect(() => instrument(sem, { name: '' })).toThrow(
      new TypeError('Expected `options.name` to be a non-empty string, got ""'),
    );
    expect(() => instrument(sem, { name: 'x', attributes: 'a' as never })).toThrow(
      new TypeError('Expected `options.attributes` to be an object, got "a"'),
    );
  });
});
