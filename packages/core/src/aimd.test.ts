import { describe, expect, it } from 'vitest';
import { aimd } from './aimd.js';
import type { LimitAlgorithm, LimitSample } from './types.js';

const ok = (rtt: number, inFlight: number): LimitSample => ({ rtt, inFlight, dropped: false });
const drop = (inFlight: number): LimitSample => ({ rtt: 10, inFlight, dropped: true });

/** Feeds samples one after another, the limit carried over; returns every limit. */
function series(algorithm: LimitAlgorithm, limit: number, samples: LimitSample[]): number[] {
  return samples.map((sample) => {
    limit = algorithm.update(sample, limit);
    return limit;
  });
}

describe('aimd', () => {
  it('adds 1 per success while at least half the limit is in flight', () => {
    expect(series(aimd(), 10, [ok(5, 5), ok(5, 6), ok(5, 12)])).toEqual([11, 12, 13]);
  });

  it('holds when the caller is app-limited (under half the limit in flight)', () => {
    expect(series(aimd(), 10, [ok(5, 4), ok(5, 1)])).toEqual([10, 10]);
  });

  it('multiplies by backoffRatio on a drop, falling by at least 1, never under 1', () => {
    expect(series(aimd(), 20, [drop(20), drop(18)])).toEqual([18, 16.2]);
    // From the in-flight the loss ran at, and never up: 12 in flight -> 10.8; 30 (27) -> stays.
    expect(series(aimd(), 20, [drop(12), drop(30)])).toEqual([10.8, 10.8]);
    expect(series(aimd(), 5, [drop(5), drop(4), drop(3), drop(2), drop(1)])).toEqual([
      4, 3, 2, 1, 1,
    ]);
    expect(series(aimd({ backoffRatio: 0.5 }), 40, [drop(40), drop(20)])).toEqual([20, 10]);
  });

  it('counts a round trip above timeout as a loss', () => {
    const algorithm = aimd({ timeout: 100 });
    expect(series(algorithm, 20, [ok(100, 20), ok(101, 20)])).toEqual([21, 18]);
  });

  it('is stateless: the same sample and limit give the same answer', () => {
    const algorithm = aimd({ increase: 2 });
    expect(algorithm.update(ok(5, 10), 10)).toBe(12);
    expect(algorithm.update(ok(5, 10), 10)).toBe(12);
  });

  it('validates its options, naming them', () => {
    expect(() => aimd({ backoffRatio: 1 })).toThrow(
      'Expected `backoffRatio` to be in [0.5, 1), got 1',
    );
    expect(() => aimd({ backoffRatio: 0.4 })).toThrow(RangeError);
    expect(() => aimd({ timeout: 0 })).toThrow('`timeout`');
    expect(() => aimd({ increase: '1' as unknown as number })).toThrow(TypeError);
    expect(() => aimd(5 as never)).toThrow(TypeError);
  });
});
