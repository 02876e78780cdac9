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
    // limit 20: log10 -> 1, so threshold 1, alpha 3, beta 6.
    expect(series(raw(), 20, [ok(100, 20), ok(100, 20), ok(100, 26)])).toEqual([20, 26, 32]);
  });

  it('grows by log10(limit) with a small queue, holds in the sweet spot, shrinks past beta', () => {
    const algorithm = raw();
    algorithm.update(ok(100, 20), 20); // no-load 100 ms
    // queue = ceil(20 × (1 - 100/110)) = 2: between threshold 1 and alpha 3 -> +1.
    expect(algorithm.update(ok(110, 20), 20)).toBe(21);
    // queue = ceil(20 × (1 - 100/120)) = 4: in [alpha, beta] -> hold.
    expect(algorithm.update(ok(120, 20), 20)).toBe(20);
    // queue = ceil(20 × (1 - 100/200)) = 10 > beta 6 -> -1.
    expect(algorithm.update(ok(200, 20), 20)).toBe(19);
  });

  it('shrinks on a drop and holds while app-limited', () => {
    const algorithm = raw();
    algorithm.update(ok(100, 20), 20);
    expect(algorithm.update({ rtt: 150, inFlight: 20, dropped: true }, 20)).toBe(19);
    expect(algorithm.update(ok(300, 5), 20)).toBe(20);
  });

  it('averages `window` samples into one update (mean RTT, largest in-flight)', () => {
    const algorithm = vegas({ window: 2, probeMultiplier: 1e9 });
    // window 1: mean 100 -> no-load. window 2: mean (100 + 120) / 2 = 110 at in-flight 20:
    // queue ceil(20 × (1 - 100/110)) = 2 -> +1.
    expect(series(algorithm, 20, [ok(90, 20), ok(110, 20), ok(100, 5), ok(120, 20)])).toEqual([
      20, 20, 20, 21,
    ]);
  });

  it('probes the no-load RTT afresh after probeMultiplier × limit × jitter updates', () => {
    // jitter 0.5 + 0 / 2 = 0.5; multiplier 1 and limit 4: the 2nd update probes.
    const algorithm = vegas({ window: 1, probeMultiplier: 1, random: () => 0 });
    // 1: no-load 100. 2: probe, no-load := 300, hold. 3: queue 0 -> + beta (6).
    // (Without the probe the 3rd would see queue ceil(4 × (1 - 100/300)) = 3 and hold at 4.)
    expect(series(algorithm, 4, [ok(100, 4), ok(300, 4), ok(300, 4)])).toEqual([4, 4, 10]);
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
