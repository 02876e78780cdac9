import { describe, expect, it } from 'vitest';
import { gradient2 } from './gradient2.js';
import { seeded } from './internal/seeded.js';
import type { LimitAlgorithm, LimitSample } from './types.js';

const ok = (rtt: number, inFlight: number): LimitSample => ({ rtt, inFlight, dropped: false });

function series(algorithm: LimitAlgorithm, limit: number, samples: LimitSample[]): number[] {
  return samples.map((sample) => {
    limit = algorithm.update(sample, limit);
    return limit;
  });
}

/** Anchors the no-load RTT at `rtt`: 20 app-limited samples (half the limit in flight). */
function anchored(algorithm: LimitAlgorithm, limit: number, rtt: number): void {
  for (let i = 0; i < 20; i++) {
    expect(algorithm.update(ok(rtt, Math.floor(limit / 2)), limit)).toBe(limit);
  }
}

/** Log-normal noise (median 1, σ 0.1) from a seeded generator, for the noisy checks. */
function noise(seed: number): () => number {
  const next = seeded(seed);
  return () =>
    Math.exp(0.1 * Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next()));
}

/** A saturated limiter in front of a downstream of `capacity`: RTT 50 ms × max(1, n / capacity). */
function drive(
  algorithm: LimitAlgorithm,
  samples: number,
  capacity: () => number,
  jitter: () => number = () => 1,
  limit = 20,
): { limit: number; max: number } {
  let max = 0;
  for (let i = 0; i < samples; i++) {
    const inFlight = Math.max(1, Math.floor(limit));
    const rtt = 50 * Math.max(1, inFlight / capacity()) * jitter();
    // Clamped as AdaptiveSemaphore does (minLimit 1, maxLimit 1000).
    limit = Math.min(1000, Math.max(1, algorithm.update(ok(rtt, inFlight), limit)));
    max = Math.max(max, limit);
  }
  return { limit, max };
}

describe('gradient2', () => {
  it('anchors on its first 20 samples, then probes every probeInterval samples while saturated', () => {
    const algorithm = gradient2({ probeInterval: 3 });
    // Saturated from the start: the first 20 samples are the anchor (and grow the limit meanwhile).
    // (Each sample ran with 20 in flight: growth aims at 20 + 4.)
    let limit = 20;
    for (let i = 0; i < 20; i++) limit = algorithm.update(ok(50, 20), limit);
    expect(limit).toBeCloseTo(24 - 4 * 0.8 ** 20, 10);
    limit = algorithm.update(ok(50, 20), limit);
    limit = algorithm.update(ok(50, 20), limit);
    // The 3rd sample since the anchor starts a probe. The first anchor was the first samples'
    // mean, a guess: its probe goes down to 3 in flight (later ones halve the limit).
    const resume = limit;
    expect(algorithm.update(ok(50, 20), resume)).toBe(3);
    const half = 3;
    // Samples that started before the probe (more in flight than the half) measure nothing ...
    expect(series(algorithm, half, [ok(90, 30), ok(90, half + 1)])).toEqual([half, half]);
    // ... 20 that started under it do, then the limit comes back.
    const answers = series(
      algorithm,
      half,
      Array.from({ length: 20 }, () => ok(50, half)),
    );
    expect(answers.slice(0, 19).every((a) => a === half)).toBe(true);
    expect(answers[19]).toBe(resume);
  });

  it('checks its first anchor with a probe after about one round trip of saturation', () => {
    const algorithm = gradient2();
    // Started overloaded: the first 20 samples (300 ms) are a provisional anchor ...
    let limit = 10;
    for (let i = 0; i < 20; i++) limit = algorithm.update(ok(300, 10), limit);
    // ... and after ceil(limit) more saturated samples a probe halves the limit.
    const answers = series(
      algorithm,
      limit,
      Array.from({ length: Math.ceil(limit) }, () => ok(300, 10)),
    );
    expect(answers.at(-1)).toBe(3);
  });

  it('grows toward inFlight + queueSize while the RTT holds, smoothed', () => {
    const algorithm = gradient2();
    anchored(algorithm, 20, 50);
    const limits = series(algorithm, 20, [ok(50, 20), ok(50, 20), ok(50, 21), ok(50, 10 + 1)]);
    expect(limits[0]).toBeCloseTo(20.8, 10); // 20 × 0.8 + 24 × 0.2
    expect(limits[1]).toBeCloseTo(21.44, 10); // 20.8 × 0.8 + (20 + 4) × 0.2
    expect(limits[2]).toBeCloseTo(22.152, 10); // 21.44 × 0.8 + (21 + 4) × 0.2
    // A fast sample that ran with 11 in flight says 15 is fine: nothing about 22.
    expect(limits[3]).toBeCloseTo(22.152, 10);
  });

  it('does not move while app-limited (at most half the limit in flight)', () => {
    expect(series(gradient2(), 20, [ok(50, 9), ok(500, 9)])).toEqual([20, 20]);
  });

  it('shrinks toward inFlight × tolerance × baseline / short RTT past the tolerance', () => {
    const algorithm = gradient2();
    anchored(algorithm, 20, 50);
    // 100 ms: gradient 1.1 × 50 / 100 = 0.55, target 20 × 0.55 = 11, smoothed 20 × 0.8 + 11 × 0.2.
    expect(algorithm.update(ok(100, 20), 20)).toBeCloseTo(18.2, 10);
  });

  it('never shrinks by more than half a step (gradient floor 0.5), nor adds queueSize while shrinking', () => {
    const algorithm = gradient2();
    anchored(algorithm, 20, 50);
    // 1000 ms: gradient 0.055, floored at 0.5: 40 × 0.8 + 20 × 0.2 = 36 (no + 4 × 0.2).
    expect(algorithm.update(ok(1000, 40), 40)).toBeCloseTo(36, 10);
  });

  it('judges the concurrency a sample ran at: a slow sample from a higher in-flight does not cut a lower limit', () => {
    const algorithm = gradient2();
    anchored(algorithm, 20, 50);
    // Started with 90 in flight, now the limit is 30: 90 × 0.55 = 49.5 > 30, nothing to cut.
    expect(algorithm.update(ok(100, 90), 30)).toBe(30);
  });

  it('a drop halves the in-flight of the sample, smoothed', () => {
    const algorithm = gradient2();
    expect(algorithm.update({ rtt: 10, inFlight: 40, dropped: true }, 40)).toBeCloseTo(36, 10);
  });

  it('probes again after probeInterval samples, and learns a downstream that got slower', () => {
    const intervals = [5, 1e9];
    const algorithm = gradient2({ probeInterval: () => intervals.shift() ?? 1e9, rttTolerance: 1 });
    anchored(algorithm, 20, 50);
    // 100 ms everywhere now: the limit falls (gradient 0.5) ...
    const falling = series(
      algorithm,
      20,
      Array.from({ length: 4 }, () => ok(100, 20)),
    );
    expect(falling[3]).toBeLessThan(20);
    // ... the 5th sample since the anchor starts a probe at half the limit, which measures 100 ms.
    let limit = falling[3]!;
    const resume = limit;
    limit = algorithm.update(ok(100, 20), limit);
    expect(limit).toBe(3); // the first probe goes down to 3 in flight
    for (let i = 0; i < 20; i++) limit = algorithm.update(ok(100, Math.floor(limit)), limit);
    expect(limit).toBe(resume);
    // For about a round trip after a probe (ceil(limit) samples) the limit does not grow: those
    // requests ran on a downstream the probe left half idle.
    const held = Math.ceil(resume) - 1;
    const answers = series(
      algorithm,
      limit,
      Array.from({ length: held }, () => ok(100, Math.floor(resume))),
    );
    expect(answers.every((a) => a === resume)).toBe(true);
    // Anchored at 100 ms, 100 ms is no queueing: growth again, toward floor(limit) + 4.
    expect(algorithm.update(ok(100, Math.floor(limit)), limit)).toBeCloseTo(
      limit * 0.8 + (Math.floor(limit) + 4) * 0.2,
      10,
    );
  });

  it('a probe the limiter clamps (minLimit) measures at the clamp; one that gets no sample gives up', () => {
    let intervals = [1, 1e9];
    const clamped = gradient2({ probeInterval: () => intervals.shift() ?? 1e9 });
    anchored(clamped, 20, 50);
    expect(clamped.update(ok(50, 20), 20)).toBe(3);
    // The limiter kept 20: samples at 20 in flight measure (80 ms now), 20 of them end the probe.
    const during = series(
      clamped,
      20,
      Array.from({ length: 20 }, () => ok(80, 20)),
    );
    expect(during.every((a) => a === 20)).toBe(true);
    // Anchored at 80 ms, 80 ms is no queueing: growth, once the post-probe hold (19 samples) is over.
    expect(
      series(
        clamped,
        20,
        Array.from({ length: 19 }, () => ok(80, 20)),
      ).every((a) => a === 20),
    ).toBe(true);
    expect(clamped.update(ok(80, 20), 20)).toBeCloseTo(20.8, 10);

    intervals = [1, 1e9];
    const starved = gradient2({ probeInterval: () => intervals.shift() ?? 1e9 });
    anchored(starved, 20, 50);
    expect(starved.update(ok(50, 20), 20)).toBe(3);
    // Nothing ever starts under the probe's limit: after 10 × (20 + 20) samples it gives up.
    const answers = series(
      starved,
      3,
      Array.from({ length: 401 }, () => ok(50, 15)),
    );
    expect(answers.slice(0, 400).every((a) => a === 3)).toBe(true);
    expect(answers[400]).toBe(20);
  });

  it('a measurement taken for free while app-limited may lower the anchor, never raise it', () => {
    const algorithm = gradient2();
    anchored(algorithm, 40, 50); // the first (provisional) anchor: 50 ms
    // Its probe comes after ceil(40) saturated samples, at 3 in flight, and confirms 50 ms.
    const answers = series(algorithm, 40, []);
    for (let i = 0; i < 40; i++) answers.push(algorithm.update(ok(50, 40), 40));
    expect(answers.at(-1)).toBe(3);
    let answer = 3;
    for (let i = 0; i < 20; i++) answer = algorithm.update(ok(50, 3), 3);
    expect(answer).toBe(40);
    // 20 app-limited samples at 200 ms (half of a limit far past the capacity is not low load):
    // ignored, so 60 ms near the limit still reads as queueing against 50 ms.
    for (let i = 0; i < 20; i++) algorithm.update(ok(200, 20), 40);
    const limit = algorithm.update(ok(60, 40), 40);
    expect(limit).toBeLessThan(40);
    // 40 ms is within the tolerance of 50 ms: no cut ...
    expect(algorithm.update(ok(40, 39), limit)).toBe(limit);
    // ... until 20 app-limited samples at 30 ms lower the anchor: then 40 ms is queueing.
    for (let i = 0; i < 20; i++) algorithm.update(ok(30, 10), limit);
    expect(algorithm.update(ok(40, 39), limit)).toBeLessThan(limit);
  });

  it('does not creep up under sustained moderate overload (the fix), noiseless and noisy', () => {
    const quiet = drive(gradient2(), 200_000, () => 40);
    expect(quiet.max).toBeLessThanOrEqual(40 * 1.5);
    expect(quiet.limit).toBeGreaterThanOrEqual(40 * 0.9);
    const noisy = drive(gradient2(), 300_000, () => 40, noise(3));
    expect(noisy.max).toBeLessThanOrEqual(40 * 1.5);
    expect(noisy.limit).toBeGreaterThanOrEqual(40 * 0.9);
    expect(noisy.limit).toBeLessThanOrEqual(40 * 1.3);
  });

  it('follows the capacity down and back up', () => {
    const algorithm = gradient2();
    let capacity = 40;
    let { limit } = drive(algorithm, 20_000, () => capacity, noise(5));
    capacity = 20;
    ({ limit } = drive(algorithm, 20_000, () => capacity, noise(6), limit));
    expect(limit).toBeGreaterThanOrEqual(20 * 0.8);
    expect(limit).toBeLessThanOrEqual(20 * 1.3);
    capacity = 40;
    ({ limit } = drive(algorithm, 20_000, () => capacity, noise(7), limit));
    expect(limit).toBeGreaterThanOrEqual(40 * 0.9);
    expect(limit).toBeLessThanOrEqual(40 * 1.3);
  });

  it('is deterministic: two instances fed the same samples answer the same', () => {
    const samples = Array.from({ length: 500 }, (_, i) => ok(40 + ((i * 37) % 29), 10 + (i % 30)));
    expect(series(gradient2(), 20, samples)).toEqual(series(gradient2(), 20, samples));
  });

  it('validates its options, naming them', () => {
    expect(() => gradient2({ smoothing: 0 })).toThrow(
      'Expected `smoothing` to be in (0, 1], got 0',
    );
    expect(() => gradient2({ rttTolerance: 0.9 })).toThrow('`rttTolerance`');
    expect(() => gradient2({ longWindow: 1.5 })).toThrow('`longWindow`');
    expect(() => gradient2({ probeSamples: 0 })).toThrow('`probeSamples`');
    expect(() => gradient2({ probeInterval: 0 })).toThrow(
      'Expected `probeInterval` to be a number >= 1 or a function, got 0',
    );
    expect(() => gradient2({ queueSize: 'x' as unknown as number })).toThrow(TypeError);
  });

  it('takes queueSize as a function of the limit', () => {
    const algorithm = gradient2({ queueSize: (limit) => Math.sqrt(limit), smoothing: 1 });
    anchored(algorithm, 16, 50);
    expect(algorithm.update(ok(50, 16), 16)).toBe(20);
  });
});
