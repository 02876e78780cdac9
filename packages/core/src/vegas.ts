import { log10Root, numberOption, ofLimit } from './internal/limit-math.js';
import { seeded } from './internal/seeded.js';
import { assertFunction, assertOptions } from './internal/validate.js';
import type { LimitAlgorithm, LimitSample } from './types.js';

type OfLimit = number | ((limit: number) => number);

export interface VegasOptions {
  /** Queue estimate under which the limit grows by `increase`. Default `3 × log10(limit)` (Netflix). */
  alpha?: OfLimit;
  /** Queue estimate above which the limit shrinks by `decrease`. Default `6 × log10(limit)`. */
  beta?: OfLimit;
  /** Queue estimate at or under which the limit grows fast, by `beta`. Default `log10(limit)`. */
  threshold?: OfLimit;
  /** The grown limit, from the limit. Default `limit + log10(limit)`. */
  increase?: (limit: number) => number;
  /** The shrunk limit, from the limit (also on a drop). Default `limit - log10(limit)`. */
  decrease?: (limit: number) => number;
  /**
   * Samples averaged into one update (their mean RTT, their largest in-flight, dropped if any
   * was), as Netflix's WindowedLimit does in front of Vegas (its minimum window is 10).
   * Vegas compares each RTT with the lowest one seen, so single noisy samples look like a
   * queue; averaging keeps that noise out. Default 10; 1 updates on every sample.
   */
  window?: number;
  /** How far one update moves the limit toward its new value, in (0, 1]. Default 1 (Netflix). */
  smoothing?: number;
  /**
   * Every `probeMultiplier × limit` samples (times a jitter in [0.5, 1)) the no-load RTT is
   * forgotten and measured afresh, so that it can rise when the downstream got slower for
   * good. Default 30 (Netflix).
   */
  probeMultiplier?: number;
  /**
   * Source of the probe jitter, in [0, 1). Default: a fixed-seed generator, so that a limiter
   * fed the same samples moves the same way (pass `Math.random` to spread probes across a fleet).
   */
  random?: () => number;
}

/**
 * Queue estimate from the no-load RTT, after Netflix's VegasLimit (itself after TCP Vegas):
 * the lowest round trip seen is the no-load RTT, and `queue = limit × (1 − noLoad / rtt)` is
 * how much of the limit is waiting rather than working. Few queued: grow (fast at first); many:
 * shrink; in between: hold. A drop shrinks; samples with less than half the limit in flight do
 * not move it. The no-load RTT is probed afresh now and then (see `probeMultiplier`).
 *
 * Deterministic rather than stateless: the no-load RTT and the probe counter live in this
 * instance (with the default `random`, the same samples in the same order give the same
 * limits). Give each limiter its own instance.
 */
export function vegas(options?: VegasOptions): LimitAlgorithm {
  assertOptions('options', options);
  const alpha = ofLimit('alpha', options?.alpha, (limit) => 3 * log10Root(limit));
  const beta = ofLimit('beta', options?.beta, (limit) => 6 * log10Root(limit));
  const threshold = ofLimit('threshold', options?.threshold, (limit) => log10Root(limit));
  const increase = options?.increase ?? ((limit: number) => limit + log10Root(limit));
  assertFunction('increase', increase);
  const decrease = options?.decrease ?? ((limit: number) => limit - log10Root(limit));
  assertFunction('decrease', decrease);
  const smoothing = numberOption(
    'smoothing',
    options?.smoothing,
    1,
    (v) => v > 0 && v <= 1,
    'in (0, 1]',
  );
  const probeMultiplier = numberOption(
    'probeMultiplier',
    options?.probeMultiplier,
    30,
    (v) => v > 0,
    'a number > 0',
  );
  const window = numberOption(
    'window',
    options?.window,
    10,
    (v) => Number.isInteger(v) && v >= 1,
    'an integer >= 1',
  );
  const random = options?.random ?? seeded(0x5eed);
  assertFunction('random', random);

  let noLoadRtt = 0;
  let probeCount = 0;
  let probeJitter = 0.5 + random() / 2;

  let count = 0;
  let rttSum = 0;
  let maxInFlight = 0;
  let anyDropped = false;

  const updateWindow = (rtt: number, inFlight: number, dropped: boolean, limit: number): number => {
    probeCount++;
    if (probeJitter * probeMultiplier * limit <= probeCount) {
      probeJitter = 0.5 + random() / 2;
      probeCount = 0;
      noLoadRtt = rtt;
      return limit;
    }
    if (noLoadRtt === 0 || rtt < noLoadRtt) {
      noLoadRtt = rtt;
      return limit;
    }

    let next: number;
    if (dropped) {
      next = decrease(limit);
    } else if (inFlight * 2 < limit) {
      return limit;
    } else {
      const queue = Math.ceil(limit * (1 - noLoadRtt / rtt));
      if (queue <= threshold(limit)) next = limit + beta(limit);
      else if (queue < alpha(limit)) next = increase(limit);
      else if (queue > beta(limit)) next = decrease(limit);
      else return limit;
    }
    next = Math.max(1, next);
    return (1 - smoothing) * limit + smoothing * next;
  };

  return {
    update(sample: LimitSample, limit: number): number {
      count++;
      rttSum += sample.rtt;
      if (sample.inFlight > maxInFlight) maxInFlight = sample.inFlight;
      if (sample.dropped) anyDropped = true;
      if (count < window) return limit;
      const rtt = rttSum / count;
      const inFlight = maxInFlight;
      const dropped = anyDropped;
      count = rttSum = maxInFlight = 0;
      anyDropped = false;
      return updateWindow(rtt, inFlight, dropped, limit);
    },
  };
}
