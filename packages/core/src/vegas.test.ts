import { describe, expect, it } from 'vitest';
import type { LimitAlgorithm, LimitSample } from './types.js';
import { vegas } from './vegas.js';

const ok = (rtt: number, inFlight: number): LimitSample => ({ rtt, inFlight, dropped: false });

function series(algorithm: LimitAlgorithm, limit: number, samples: LimitSample[]): number[] {
  return samples.map((sample) => {
    limit = algorithm.update(sample, limit);
    return limit;
  });
}

// window 1 and no probing (a huge multiplier): the raw Vegas rules, one sample per update.
const raw = (options = {}) => vegas({ window: 1, probeMultiplier: 1e9, ...options });

describe('vegas', () => {
  it('takes the first (lowest) RTT as no-load, then grows by beta while nothing queues', () => {
    // limit 20: log10 -> 1, so threshold 1, alpha 2, beta 4 (Linux TCP Vegas's 2 and 4; these
    // were Netflix's 3 and 6, which hold the limit at up to 30 % over a capacity of 20).
    expect(series(raw(), 20, [ok(100, 20), ok(100, 20), ok(100, 24)])).toEqual([20, 24, 28]);
  });

  it('grows by log10(limit) with a small queue, holds in the sweet spot, shrinks past beta', () => {
    const algorithm = raw();
    algorithm.update(ok(100, 20), 20); // no-load 100 ms
    // queue = ceil(20 × (1 - 100/105)) = 1: at threshold 1 -> + beta (4).
    expect(algorithm.update(ok(105, 20), 20)).toBe(24);
    // queue = ceil(30 × (1 - 100/105)) = 2: in [alpha 2, beta 4] -> hold.
    expect(algorithm.update(ok(105, 30), 30)).toBe(30);
    // queue = ceil(20 × (1 - 100/108)) = 2: in [alpha 2, beta 4] -> hold.
    expect(algorithm.update(ok(108, 20), 20)).toBe(20);
    // queue = ceil(100 × (1 - 100/103)) = 3: log10(100) = 2, threshold 2 < 3 < alpha 4 -> + 2.
    expect(algorithm.update(ok(103, 100), 100)).toBe(102);
    // queue = ceil(20 × (1 - 100/130)) = 5 > beta 4 -> -1.
    expect(algorithm.update(ok(130, 20), 20)).toBe(19);
    // From 1000 on still log10 (3), as Netflix's Log10RootIntFunction computes (its comment
    // says sqrt; this read sqrt until now, which made beta 124 at 1000): queue 0 -> + 12.
    expect(algorithm.update(ok(100, 1000), 1000)).toBe(1012);
  });

  it('shrinks on a drop and holds while app-limited', () => {
    const algorithm = raw();
    algorithm.update(ok(100, 20), 20);
    expect(algorithm.update({ rtt: 150, inFlight: 20, dropped: true }, 20)).toBe(19);
    expect(algorithm.update(ok(300, 5), 20)).toBe(20);
  });

  it('averages `window` samples into one update (mean RTT, largest in-flight)', () => {
    const algorithm = vegas({ window: 2, probeMultiplier: 1e9 });
    // window 1: mean 100 -> no-load. window 2: mean (100 + 140) / 2 = 120 at in-flight 20:
    // queue ceil(20 × (1 - 100/120)) = 4: in [alpha 2, beta 4] -> hold; window 3: mean 130,
    // queue 5 > beta -> -1.
    expect(
      series(algorithm, 20, [
        ok(90, 20),
        ok(110, 20),
        ok(100, 5),
        ok(140, 20),
        ok(130, 20),
        ok(130, 9),
      ]),
    ).toEqual([20, 20, 20, 20, 20, 19]);
  });

  it('averages 40 samples by default', () => {
    const samples = [
      ...Array.from({ length: 40 }, () => ok(100, 20)),
      ...Array.from({ length: 40 }, () => ok(200, 20)),
    ];
    const limits = series(vegas({ probeMultiplier: 1e9 }), 20, samples);
    // Only the 80th sample closes a window that moves the limit: queue 10 > beta -> -1.
    expect(limits.slice(0, 79).every((limit) => limit === 20)).toBe(true);
    expect(limits[79]).toBe(19);
  });

  it('probes the no-load RTT by halving the limit and measuring what started under it', () => {
    // jitter 0.5 + 0 / 2 = 0.5 and multiplier 1: a probe is due after 0.5 × limit updates.
    const algorithm = vegas({ window: 2, probeMultiplier: 1, random: () => 0 });
    const limits = series(algorithm, 8, [
      ...[ok(100, 8), ok(100, 8)], // no-load 100
      ...[ok(110, 8), ok(110, 8)], // queue ceil(8 × (1 - 100/110)) = 1: + beta (4) -> 12
      ...[ok(150, 12), ok(150, 12)], // queue 4: in [2, 4], hold
      ...[ok(160, 12), ok(160, 12)], // queue 5 > beta: -1 -> 11
      ...[ok(160, 11), ok(160, 11)], // queue 5: -1 -> 10
      ...[ok(160, 11), ok(160, 11)], // 6th update >= 0.5 × 10, limit in use: probe, 5
      ok(160, 11), // started before the probe: not a measurement
      ...[ok(120, 5), ok(120, 4)], // two under the halved limit: no-load := 120, back to 10
      ...[ok(130, 11), ok(130, 11)], // queue ceil(10 × (1 - 120/130)) = 1: + 4 -> 14
    ]);
    expect(limits).toEqual([8, 8, 8, 12, 12, 12, 12, 11, 11, 10, 10, 5, 5, 5, 10, 10, 14]);
    // Behaviour change: Netflix's probe takes the next RTT as the no-load one (here the loaded
    // 160, which makes the queue look empty and the limit grow by beta each time). Without any
    // probe the last update would see queue ceil(10 × (1 - 100/130)) = 3 and grow by 1 only.
  });

  it('probes only while the limit is in use, and gives up a probe that cannot finish', () => {
    const algorithm = vegas({ window: 1, probeMultiplier: 1, random: () => 0 });
    const limits = series(algorithm, 4, [
      ok(100, 1), // no-load 100
      ok(100, 1), // due (2 >= 0.5 × 4) but app-limited (1 in flight of 4): no probe, hold
      ok(100, 4), // in use: probe, limit 2
      // Nothing starts under 2 (say another caller holds permits): after 10 × (4 + window 1)
      // samples the probe gives up and the limit goes back to 4, no-load unchanged.
      ...Array.from({ length: 51 }, () => ok(100, 3)),
      ok(100, 3), // queue 0: + beta -> 8
    ]);
    expect(limits).toEqual([4, 4, 2, ...Array.from({ length: 50 }, () => 2), 4, 8]);
  });

  it('learns a downstream that got slower for good at the next probe', () => {
    const algorithm = vegas({ window: 1, probeMultiplier: 1, random: () => 0 });
    // no-load 100, then the downstream takes 200 at any load: queue ceil(20 × 0.5) = 10 > beta,
    // so the limit falls by 1 per update until the probe (due after 0.5 × limit updates).
    const limits = series(algorithm, 20, [
      ok(100, 20),
      ...Array.from({ length: 9 }, () => ok(200, 20)),
    ]);
    expect(limits).toEqual([20, 19, 18, 17, 16, 15, 14, 7, 7, 7]);
    // Probing at 7: samples that started before it do not count; one that started under it is
    // the new no-load RTT (200); the limit goes back to 14 and, no queue seen, grows again.
    expect(series(algorithm, 7, [ok(200, 20), ok(200, 6), ok(200, 12)])).toEqual([7, 14, 18]);
  });

  it('is deterministic with the default jitter', () => {
    const samples = Array.from({ length: 2000 }, (_, i) => ok(50 + ((i * 31) % 17), 20));
    expect(series(vegas(), 20, samples)).toEqual(series(vegas(), 20, samples));
  });

  it('validates its options, naming them', () => {
    expect(() => vegas({ window: 0 })).toThrow('Expected `window` to be an integer >= 1, got 0');
    expect(() => vegas({ smoothing: 2 })).toThrow('`smoothing`');
    expect(() => vegas({ increase: 3 as never })).toThrow('`increase`');
    expect(() => vegas({ alpha: Number.NaN })).toThrow('`alpha`');
  });
});
