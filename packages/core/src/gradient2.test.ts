import { describe, expect, it } from 'vitest';
import { gradient2 } from './gradient2.js';
import type { LimitAlgorithm, LimitSample } from './types.js';

const ok = (rtt: number, inFlight: number): LimitSample => ({ rtt, inFlight, dropped: false });

function series(algorithm: LimitAlgorithm, limit: number, samples: LimitSample[]): number[] {
  return samples.map((sample) => {
    limit = algorithm.update(sample, limit);
    return limit;
  });
}

/** n samples of the same rtt, each at the limit as it is then (a saturated limiter). */
function saturated(algorithm: LimitAlgorithm, limit: number, rtt: number, n: number): number {
  for (let i = 0; i < n; i++) limit = algorithm.update(ok(rtt, Math.floor(limit)), limit);
  return limit;
}

describe('gradient2', () => {
  it('grows by queueSize × smoothing per sample while the RTT holds (4 × 0.2 = 0.8)', () => {
    const limits = series(gradient2(), 20, [ok(50, 20), ok(50, 20), ok(50, 21)]);
    expect(limits[0]).toBeCloseTo(20.8, 10);
    expect(limits[1]).toBeCloseTo(21.6, 10);
    expect(limits[2]).toBeCloseTo(22.4, 10);
  });

  it('does not move while app-limited (under half the limit in flight)', () => {
    expect(series(gradient2(), 20, [ok(50, 9), ok(500, 9)])).toEqual([20, 20]);
  });

  it('shrinks toward inFlight × tolerance × long / short once the RTT passes the tolerance', () => {
    const algorithm = gradient2();
    const limit = saturated(algorithm, 20, 50, 10); // baseline: 50 ms
    expect(limit).toBeCloseTo(28, 10);
    // 100 ms at 28 in flight: gradient 1.2 × 50 / 100 = 0.6, target 28 × 0.6 = 16.8,
    // smoothed: 28 × 0.8 + 16.8 × 0.2 = 25.76.
    expect(algorithm.update(ok(100, 28), 28)).toBeCloseTo(25.76, 10);
  });

  it('never shrinks by more than half a step (gradient floor 0.5), nor adds queueSize while shrinking', () => {
    const algorithm = gradient2();
    saturated(algorithm, 20, 50, 10);
    // 1000 ms: gradient 0.06, floored at 0.5: 40 × 0.8 + 20 × 0.2 = 36 (no + 4 × 0.2).
    expect(algorithm.update(ok(1000, 40), 40)).toBeCloseTo(36, 10);
  });

  it('judges the concurrency a sample ran at: a slow sample from a higher in-flight does not cut a lower limit', () => {
    const algorithm = gradient2();
    saturated(algorithm, 20, 50, 10);
    // Started with 90 in flight, now the limit is 30: 90 × 0.6 = 54 > 30, nothing to cut.
    expect(algorithm.update(ok(100, 90), 30)).toBe(30);
  });

  it('a drop halves the in-flight of the sample, smoothed', () => {
    const algorithm = gradient2();
    expect(algorithm.update({ rtt: 10, inFlight: 40, dropped: true }, 40)).toBeCloseTo(36, 10);
  });

  it('does not creep up under sustained moderate overload in a noiseless model (the fix)', () => {
    // A downstream with capacity 40 whose RTT grows with concurrency past it: 50 ms × max(1, n / 40).
    const algorithm = gradient2();
    let limit = 20;
    let max = 0;
    for (let i = 0; i < 200_000; i++) {
      const inFlight = Math.floor(limit);
      limit = algorithm.update(ok(50 * Math.max(1, inFlight / 40), inFlight), limit);
      if (i > 1000) max = Math.max(max, limit);
    }
    expect(max).toBeLessThanOrEqual(40 * 1.25);
    expect(limit).toBeGreaterThanOrEqual(40);
  });

  it('follows a downstream that got slower for good, once less concurrency does not help', () => {
    const algorithm = gradient2();
    let limit = saturated(algorithm, 20, 50, 100);
    // Every request now takes 150 ms whatever the concurrency: the limit falls, then the
    // baseline learns 150 ms from samples at half the baseline's concurrency, and growth resumes.
    let low = limit;
    for (let i = 0; i < 5000; i++) {
      // As AdaptiveSemaphore does with minLimit 1.
      limit = Math.max(1, algorithm.update(ok(150, Math.floor(limit)), limit));
      low = Math.min(low, limit);
    }
    expect(low).toBeLessThan(30);
    expect(limit).toBeGreaterThan(low + 10);
  });

  it('is deterministic: two instances fed the same samples answer the same', () => {
    const samples = Array.from({ length: 500 }, (_, i) => ok(40 + ((i * 37) % 29), 10 + (i % 30)));
    expect(series(gradient2(), 20, samples)).toEqual(series(gradient2(), 20, samples));
  });

  it('validates its options, naming them', () => {
    expect(() => gradient2({ smoothing: 0 })).toThrow('Expected `smoothing` to be in (0, 1], got 0');
    expect(() => gradient2({ rttTolerance: 0.9 })).toThrow('`rttTolerance`');
    expect(() => gradient2({ longWindow: 1.5 })).toThrow('`longWindow`');
    expect(() => gradient2({ queueSize: 'x' as unknown as number })).toThrow(TypeError);
  });

  it('takes queueSize as a function of the limit', () => {
    const algorithm = gradient2({ queueSize: (limit) => Math.sqrt(limit), smoothing: 1 });
    expect(algorithm.update(ok(50, 16), 16)).toBe(20);
  });
});
