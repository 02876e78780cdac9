import { log10Root, numberOption, ofLimit } from './internal/limit-math.js';
import { seeded } from './internal/seeded.js';
import { assertFunction, assertOptions } from './internal/validate.js';
import type { LimitAlgorithm, LimitSample } from './types.js';

type OfLimit = number | ((limit: number) => number);

export interface VegasOptions {
  /**
   * Queue estimate under which the limit grows by `increase`. Default `2 × log10(limit)`: Linux
   * TCP Vegas's alpha (2), scaled with the limit as Netflix does (Netflix: `3 × log10(limit)`).
   */
  alpha?: OfLimit;
  /**
   * Queue estimate above which the limit shrinks by `decrease`. Default `4 × log10(limit)` (Linux
   * TCP Vegas's beta 4, scaled; Netflix: `6 × log10(limit)`). Vegas holds the limit at about the
   * capacity plus `alpha` to `beta`: Netflix's 3 to 6 is 15–30 % over a capacity of 20.
   */
  beta?: OfLimit;
  /** Queue estimate at or under which the limit grows fast, by `beta`. Default `log10(limit)`. */
  threshold?: OfLimit;
  /** The grown limit, from the limit. Default `limit + log10(limit)`. */
  increase?: (limit: number) => number;
  /** The shrunk limit, from the limit (also on a drop). Default `limit - log10(limit)`. */
  decrease?: (limit: number) => number;
  /**
   * Samples averaged into one update (their mean RTT, their largest in-flight, dropped if any
   * was), as Netflix's WindowedLimit does in front of Vegas (at least 10 samples and 1 s). Vegas
   * compares each RTT with the lowest one seen, so noise looks like a queue, and the lowest of
   * many noisy windows is lower still; averaging keeps that out (10 % noise per request is 1.6 %
   * over 40). Default 40 (no clock here, so a count instead of Netflix's second); 1 updates on
   * every sample.
   */
  window?: number;
  /** How far one update moves the limit toward its new value, in (0, 1]. Default 1 (Netflix). */
  smoothing?: number;
  /**
   * Every `probeMultiplier × limit` updates (times a jitter in [0.5, 1)), at the next one with
   * the limit in use, the no-load RTT is measured afresh, so that it can rise when the
   * downstream got slower for good: the limit halves until `window` requests that started
   * under it came back (their mean RTT is the new no-load RTT), then goes back. Default 30
   * (Netflix).
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
 * What differs from Netflix's, and why (see the adaptive-limits guide):
 * - the probe drains: Netflix takes the next RTT as the new no-load one, but with the limit in
 *   use that RTT includes the queue the limit keeps, so after each probe the queue looks empty
 *   and the limit grows (Netflix/concurrency-limits#34, #165). Here the limit halves until
 *   requests that started under it came back, as Envoy's adaptive concurrency filter and
 *   BBR's ProbeRTT measure the minimum RTT;
 * - alpha and beta are Linux TCP Vegas's 2 and 4 (times log10(limit)), not 3 and 6;
 * - `window` is 40 samples, not Netflix's 1-second window.
 *
 * Deterministic rather than stateless: the no-load RTT and the probe counter live in this
 * instance (with the default `random`, the same samples in the same order give the same
 * limits). Give each limiter its own instance.
 */
export function vegas(options?: VegasOptions): LimitAlgorithm {
  assertOptions('options', options);
  const alpha = ofLimit('alpha', options?.alpha, (limit) => 2 * log10Root(limit));
  const beta = ofLimit('beta', options?.beta, (limit) => 4 * log10Root(limit));
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
    40,
    (v) => Number.isInteger(v) && v >= 1,
    'an integer >= 1',
  );
  const random = options?.random ?? seeded(0x5eed);
  assertFunction('random', random);

  let noLoadRtt = 0;
  let probeCount = 0;
  let probeJitter = 0.5 + random() / 2;
  /** While probing: the limit to go back to; else undefined. */
  let resume: number | undefined;
  let probeAge = 0;

  let count = 0;
  let rttSum = 0;
  let maxInFlight = 0;
  let anyDropped = false;

  const updateWindow = (rtt: number, inFlight: number, dropped: boolean, limit: number): number => {
    probeCount++;
    // The probe is due and the limit in use (app-limited, it waits for a window that uses it):
    // drain to half the limit and measure there (see `probing`), never at the queue the limit
    // itself keeps, which would look like no queue at all and let the limit creep up.
    if (probeJitter * probeMultiplier * limit <= probeCount && inFlight * 2 >= limit) {
      probeJitter = 0.5 + random() / 2;
      probeCount = 0;
      resume = limit;
      probeAge = 0;
      return Math.max(1, Math.floor(limit / 2));
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

  /**
   * Probing: only work that started under the halved limit ran at low load. The mean RTT of
   * `window` such samples is the no-load RTT (it may rise: the downstream got slower for good);
   * then the limit goes back to what it was. A probe that cannot complete (nothing arrives, or
   * something else keeps the limit up) gives up and keeps the old no-load RTT.
   */
  const probing = (sample: LimitSample, limit: number, back: number): number => {
    probeAge++;
    if (sample.inFlight <= Math.max(1, Math.floor(limit)) && !sample.dropped) {
      count++;
      rttSum += sample.rtt;
      if (count >= window) {
        noLoadRtt = rttSum / count;
        count = rttSum = 0;
        resume = undefined;
        return back;
      }
    }
    if (probeAge > 10 * (back + window)) {
      count = rttSum = 0;
      resume = undefined;
      return back;
    }
    return limit;
  };

  return {
    update(sample: LimitSample, limit: number): number {
      if (resume !== undefined) return probing(sample, limit, resume);
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
