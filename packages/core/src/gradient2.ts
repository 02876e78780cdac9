import { MovingAverage, numberOption, ofLimit } from './internal/limit-math.js';
import { assertOptions } from './internal/validate.js';
import type { LimitAlgorithm, LimitSample } from './types.js';

export interface Gradient2Options {
  /**
   * How far one sample moves the limit toward its new estimate, in (0, 1]: 1 jumps, 0.2 (the
   * default, as Netflix) moves a fifth of the way. Lower is steadier and slower.
   */
  smoothing?: number;
  /**
   * Headroom added while no queueing is seen: how fast the limit probes upward (times
   * `smoothing`, per sample). A number or a function of the limit. Default 4 (Netflix).
   */
  queueSize?: number | ((limit: number) => number);
  /** Samples in the long (baseline) RTT average. Default 600 (Netflix). */
  longWindow?: number;
  /**
   * How much slower than the baseline a round trip may be before the limit shrinks, >= 1.
   * With the baseline anchored (see below) this is the latency inflation accepted at the
   * operating point, so the default is 1.2 (Netflix uses 1.5, with a baseline that drifts).
   */
  rttTolerance?: number;
}

/**
 * Latency gradient, after Netflix's Gradient2Limit: compares each round trip (short RTT) with a
 * long average (the baseline, ~600 samples). While the round trip is within `rttTolerance` of
 * the baseline the limit grows by `queueSize`; past it, the limit is scaled by
 * `tolerance × long / short` (never below half), both moves smoothed by `smoothing`. Samples
 * taken with less than half the limit in flight do not move it (the caller is app-limited).
 *
 * The fix for its upward creep. Netflix's version creeps up under sustained moderate overload
 * (Netflix/concurrency-limits#137, #134): its baseline is an average of every sample, so when
 * the limit is a little too high the baseline learns the inflated latency, the gradient
 * returns to 1, and the limit grows again, without end; and it adds `queueSize` even while
 * shrinking, which holds the limit up at `queueSize / (1 - gradient)`. Here:
 * 1. the baseline learns a sample slower than itself only if that sample ran with no more in
 *    flight than the baseline's own samples did (a moving average of their in-flight). Latency
 *    that rose with our own concurrency is queueing we caused, not a new normal; latency that
 *    rose at the same or lower concurrency is the downstream getting slower, and is learnt.
 *    Faster samples are always learnt, and they are what lets the baseline's concurrency rise;
 * 2. `queueSize` is added only when no queueing is seen (gradient 1), never while shrinking;
 * 3. a drop counts as the strongest queueing signal (gradient 0.5) and is not learnt as an RTT;
 * 4. a shrink scales the in-flight the sample started with, not the current limit (and never
 *    raises it): after a sudden overload, every request still in flight comes back slow, and
 *    each cut the already-cut limit again, down to the floor, in Netflix's version.
 *
 * Deterministic rather than stateless: the baseline lives in this instance, so `update` answers
 * from the samples it has seen so far, in order (no clock, no randomness). Give each limiter
 * its own instance.
 */
export function gradient2(options?: Gradient2Options): LimitAlgorithm {
  assertOptions('options', options);
  const smoothing = numberOption(
    'smoothing',
    options?.smoothing,
    0.2,
    (v) => v > 0 && v <= 1,
    'in (0, 1]',
  );
  const queueSize = ofLimit('queueSize', options?.queueSize, () => 4);
  const longWindow = numberOption(
    'longWindow',
    options?.longWindow,
    600,
    (v) => Number.isInteger(v) && v >= 1,
    'an integer >= 1',
  );
  const tolerance = numberOption(
    'rttTolerance',
    options?.rttTolerance,
    1.2,
    (v) => v >= 1 && Number.isFinite(v),
    'a finite number >= 1',
  );
  const longRtt = new MovingAverage(longWindow, 10);
  const longInFlight = new MovingAverage(longWindow, 10);

  return {
    update(sample: LimitSample, limit: number): number {
      if (sample.dropped) {
        return limit * (1 - smoothing) + Math.min(limit, sample.inFlight * 0.5) * smoothing;
      }
      const shortRtt = sample.rtt;
      const baseline = longRtt.value;
      const baselineInFlight = longInFlight.value;
      if (
        longRtt.count < 10 ||
        shortRtt <= baseline ||
        (shortRtt <= tolerance * baseline && sample.inFlight <= Math.round(baselineInFlight)) ||
        sample.inFlight <= baselineInFlight / 2
      ) {
        longRtt.add(shortRtt);
        longInFlight.add(sample.inFlight);
      }
      // Back from a long overload: let the baseline fall faster than its average would.
      if (longRtt.value > 2 * shortRtt) longRtt.value *= 0.95;

      if (sample.inFlight < limit / 2) return limit;

      const gradient =
        shortRtt <= 0 ? 1 : Math.max(0.5, Math.min(1, (tolerance * longRtt.value) / shortRtt));
      if (gradient >= 1) return limit * (1 - smoothing) + (limit + queueSize(limit)) * smoothing;
      // The sample judges the concurrency it ran at: a sample that started when more was in
      // flight than the limit allows now says nothing against the lower limit. Without this,
      // the samples still in flight after an overload began each cut again, to minLimit.
      const target = Math.min(limit, sample.inFlight * gradient);
      return limit * (1 - smoothing) + target * smoothing;
    },
  };
}
