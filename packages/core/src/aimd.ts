import { numberOption } from './internal/limit-math.js';
import { assertOptions } from './internal/validate.js';
import type { LimitAlgorithm, LimitSample } from './types.js';

export interface AimdOptions {
  /**
   * What a loss does to the limit: it is multiplied by this (and falls by at least 1).
   * In [0.5, 1). Default 0.9 (Netflix AIMDLimit).
   */
  backoffRatio?: number;
  /**
   * A round trip longer than this, in ms, counts as a loss even if the permit was released.
   * Default 5000 (Netflix AIMDLimit). Set it near the latency you promise, or AIMD lets queues
   * grow until requests fail.
   */
  timeout?: number;
  /** Added to the limit for each success while the limit is in use. Default 1. */
  increase?: number;
}

/**
 * Loss based (additive increase, multiplicative decrease), after Netflix's AIMDLimit: each
 * success that ran while at least half the limit was in flight adds `increase`; each loss
 * (`drop()`, or a round trip above `timeout`) multiplies by `backoffRatio` the in-flight the
 * sample ran at (Netflix: the limit; from the in-flight, the losses of requests started before
 * a cut do not cut again). It knows nothing of latency below `timeout`: it fills the downstream
 * until it fails.
 *
 * Stateless: `update(sample, limit)` depends on its arguments only.
 */
export function aimd(options?: AimdOptions): LimitAlgorithm {
  assertOptions('options', options);
  const backoffRatio = numberOption(
    'backoffRatio',
    options?.backoffRatio,
    0.9,
    (v) => v >= 0.5 && v < 1,
    'in [0.5, 1)',
  );
  const timeout = numberOption('timeout', options?.timeout, 5000, (v) => v > 0, 'a number > 0');
  const increase = numberOption(
    'increase',
    options?.increase,
    1,
    (v) => v > 0 && Number.isFinite(v),
    'a finite number > 0',
  );
  return {
    update(sample: LimitSample, limit: number): number {
      if (sample.dropped || sample.rtt > timeout) {
        // Backs off from the concurrency the sample ran at, never up: after an overload began,
        // every request still in flight fails, and each would cut the already-cut limit again.
        const from = sample.inFlight;
        return Math.min(limit, Math.max(1, Math.min(from - 1, from * backoffRatio)));
      }
      // App-limited: successes with most of the limit idle say nothing about a higher one.
      if (sample.inFlight * 2 < limit) return limit;
      return limit + increase;
    },
  };
}
