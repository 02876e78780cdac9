import { MovingAverage, numberOption, ofLimit } from './internal/limit-math.js';
import { assertOptions } from './internal/validate.js';
import type { LimitAlgorithm, LimitSample } from './types.js';

const TOLERANCE = 1.1;
/** Concurrency of the first probe (Envoy's adaptive concurrency `min_concurrency` default). */
const FIRST_PROBE_LIMIT = 3;

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
  /** Samples in the long RTT average (it can only lower the baseline, see below). Default 600 (Netflix). */
  longWindow?: number;
  /**
   * How much slower than the baseline a round trip may be before the limit shrinks, >= 1. With
   * an anchored baseline this is the latency inflation accepted at the operating point, so the
   * default is 1.1 (Netflix: 1.5, with a baseline that drifts up with the load).
   */
  rttTolerance?: number;
  /**
   * Samples between two measurements of the no-load RTT while saturated: a number, or a
   * function of the limit. Default `1000 × limit` (about a thousand round trips: a minute at
   * 60 ms, as Envoy's default interval). A probe halves the limit for about two round trips;
   * a downstream that got slower for good is learnt at the next one.
   */
  probeInterval?: number | ((limit: number) => number);
  /** Samples averaged into one no-load RTT measurement. Default 20. */
  probeSamples?: number;
}

/**
 * Latency gradient, after Netflix's Gradient2Limit: compares each round trip with a baseline.
 * Within `rttTolerance` of it the limit grows toward `inFlight + queueSize`; past it the limit
 * shrinks toward `inFlight × tolerance × baseline / rtt` (never below half), both moves
 * smoothed by `smoothing`. Only samples that ran within `queueSize` of the limit move it: with
 * less in flight, the limit was not what held the work back.
 *
 * The fix for its upward creep. Netflix's baseline is a long average of every sample, so under
 * sustained moderate overload it learns the latency the too-high limit causes, the gradient
 * returns to 1 and the limit grows again, without end (Netflix/concurrency-limits#137, #134);
 * it also adds `queueSize` while shrinking, which holds the limit at `queueSize / (1 − gradient)`.
 * Here the baseline is anchored to a measured no-load RTT, as Envoy's adaptive concurrency
 * filter does: the mean RTT of `probeSamples` samples taken at low load. When saturated for
 * `probeInterval` samples, the algorithm probes: it answers half the limit until
 * `probeSamples` requests that started under it have come back, then restores the limit. The
 * first `probeSamples` samples are a provisional anchor, checked after about one round trip of
 * saturation by a probe at 3 in flight (Envoy's `min_concurrency`): the initial limit is a
 * guess, maybe far too high. App-limited samples (at most half the limit in flight) measure for
 * free, but may only lower the anchor. The baseline is `min(anchor, long average)`: a faster
 * downstream lowers it at once, a slower one raises it only at the next probe, so the limit's
 * own queueing never raises it. Also:
 * - `queueSize` is added only when no queueing is seen, never while shrinking;
 * - both moves are judged by the in-flight the sample started with, not the current limit.
 *   After a sudden overload every request still in flight comes back slow, and with Netflix's
 *   rule each of them cuts the already-cut limit again, down to the floor; after a rise,
 *   requests that started before it come back fast and would each raise the limit again;
 * - for about one round trip after a probe the limit does not grow (those requests ran on a
 *   downstream the probe left half idle);
 * - a drop counts as gradient 0.5 and is not learnt as an RTT.
 *
 * Deterministic rather than stateless: the anchor, the averages and the probe live in this
 * instance, so `update` answers from the samples seen so far, in order (no clock, no
 * randomness). Give each limiter its own instance.
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
    TOLERANCE,
    (v) => v >= 1 && Number.isFinite(v),
    'a finite number >= 1',
  );
  if (typeof options?.probeInterval === 'number') {
    numberOption(
      'probeInterval',
      options.probeInterval,
      0,
      (v) => v >= 1,
      'a number >= 1 or a function',
    );
  }
  const probeInterval = ofLimit('probeInterval', options?.probeInterval, (limit) => 1000 * limit);
  const probeSamples = numberOption(
    'probeSamples',
    options?.probeSamples,
    20,
    (v) => Number.isInteger(v) && v >= 1,
    'an integer >= 1',
  );

  const longRtt = new MovingAverage(longWindow, 10);

  /** Mean RTT at low load (at most half the limit in flight): the anchor. Infinity until measured. */
  let noLoadRtt = Number.POSITIVE_INFINITY;
  let lowCount = 0;
  let lowSum = 0;
  /** Samples since the anchor was last measured, and how many may pass before the next probe. */
  let sinceAnchor = 0;
  let anchorInterval = 0;
  /** While probing: the limit to go back to; else undefined. */
  let resume: number | undefined;
  let probeAge = 0;
  /** True while the anchor is the first samples' mean, not yet checked by a probe. */
  let provisional = false;
  /** Samples after a probe during which the limit may not grow (see below). */
  let hold = 0;

  /**
   * Adds a low-load sample; every `probeSamples` of them make a measurement. A probe's (or the
   * first) measurement sets the anchor; one taken for free while app-limited may only lower it
   * (half of a limit far above the capacity is not low load: raising is a probe's job).
   */
  const lowLoad = (rtt: number, limit: number, probed: boolean): boolean => {
    lowSum += rtt;
    lowCount++;
    if (lowCount < probeSamples) return false;
    const measured = lowSum / lowCount;
    lowSum = lowCount = 0;
    const first = noLoadRtt === Number.POSITIVE_INFINITY;
    if (!probed && !first && measured > noLoadRtt) return true;
    noLoadRtt = measured;
    provisional = first;
    sinceAnchor = 0;
    // A fresh measurement outranks the average: restart it there (past its warm-up).
    longRtt.value = noLoadRtt;
    longRtt.count = Math.max(longRtt.count, 10);
    // Fixed now: a limit that grows must not push its own next check further away. The first
    // anchor comes from whatever the first samples were (a service may start overloaded), so
    // it is checked by a probe after about one round trip of saturation.
    anchorInterval = first
      ? Math.min(Math.ceil(limit), probeInterval(limit))
      : probeInterval(limit);
    return true;
  };

  return {
    update(sample: LimitSample, limit: number): number {
      const rtt = sample.rtt;
      sinceAnchor++;

      if (resume !== undefined) {
        // Probing: only work started under the lowered limit measures the no-load RTT.
        probeAge++;
        const done =
          sample.inFlight <= Math.max(1, Math.floor(limit)) &&
          !sample.dropped &&
          lowLoad(rtt, resume, true);
        // A probe that cannot complete (the limit was not lowered, or nothing arrives) gives up.
        if (done || probeAge > 10 * (resume + probeSamples)) {
          const back = resume;
          resume = undefined;
          // For about one round trip at the restored limit, samples come back from a
          // downstream the probe left half idle: fast, but no evidence for a higher limit.
          hold = Math.ceil(back);
          return back;
        }
        return limit;
      }

      if (sample.dropped) {
        return limit * (1 - smoothing) + Math.min(limit, sample.inFlight * 0.5) * smoothing;
      }

      longRtt.add(rtt);
      // Back from a long overload: let the average fall faster than it would.
      if (longRtt.value > 2 * rtt) longRtt.value *= 0.95;

      // App-limited: nothing to learn about a higher limit, but a free no-load measurement.
      if (sample.inFlight * 2 <= limit) {
        // (Not while the anchor is the first guess: half of a wrong initial limit may still be
        // far past the capacity. Its probe decides.)
        if (!provisional) lowLoad(rtt, limit, false);
        return limit;
      }
      // The first samples anchor it (as Netflix's average warms up on its first ones): probing
      // at once would halve the limit just when traffic starts.
      if (noLoadRtt === Number.POSITIVE_INFINITY) lowLoad(rtt, limit, false);
      // Saturated without a fresh anchor for a while: probe (half the limit for a moment). The
      // first probe checks a guess (the initial limit may be far above the capacity, and half
      // of it still overloaded), so it goes down to FIRST_PROBE_LIMIT, as Envoy always does.
      else if (sinceAnchor >= anchorInterval) {
        resume = limit;
        probeAge = 0;
        lowSum = lowCount = 0;
        const half = Math.floor(limit / 2);
        return Math.max(1, provisional ? Math.min(half, FIRST_PROBE_LIMIT) : half);
      }

      // A sample speaks about the limit only if it ran within queueSize of it: one that ran
      // with much less in flight was neither held back nor pushing (noise there would pull the
      // limit down to the load of the moment, and bursts would then queue).
      const headroom = queueSize(limit);
      if (sample.inFlight + headroom <= limit) return limit;

      const baseline = Math.min(noLoadRtt, longRtt.value);
      const gradient = rtt <= 0 ? 1 : Math.max(0.5, Math.min(1, (tolerance * baseline) / rtt));
      if (hold > 0) hold--;
      if (gradient >= 1) {
        // Growth is judged like a shrink, by the concurrency the sample ran at: a fast sample
        // says `inFlight + queueSize` is fine, nothing about a limit above that. Without this,
        // the fast samples still coming back from before a rise keep raising the limit.
        if (hold > 0) return limit;
        return limit * (1 - smoothing) + (sample.inFlight + headroom) * smoothing;
      }
      // The sample judges the concurrency it ran at: a sample that started when more was in
      // flight than the limit allows now says nothing against the lower limit. Without this,
      // the samples still in flight after an overload began each cut again, to the floor.
      const target = Math.min(limit, sample.inFlight * gradient);
      return limit * (1 - smoothing) + target * smoothing;
    },
  };
}
