// One run of the discrete-event simulation: open-loop Poisson arrivals go through a limiter
// (an AdaptiveSemaphore) into a downstream whose service time grows with its concurrency and
// which gives up on a request at its deadline. Everything runs on the EventLoop's virtual
// clock and two seeded generators, so the same seed gives the same numbers.

import { type AdaptivePermit, AdaptiveSemaphore, type LimitAlgorithm } from '@sluice/core';
import { EventLoop } from './event-loop.js';
import { exponential, logNormal, seeded } from './prng.js';

export interface Phase {
  name: string;
  /** Virtual seconds. */
  seconds: number;
  /** Offered load as a fraction of the *nominal* capacity (capacity / baseMs per ms). */
  load: number;
  /** Downstream capacity in this phase, as a fraction of the nominal one. */
  capacity: number;
  /** False for a warm-up: reported, not checked against the targets. Default true. */
  scored?: boolean;
}

export interface Downstream {
  /** Concurrency the downstream serves at its base speed. */
  capacity: number;
  /** Service time at or under capacity, ms (median; noise on top). */
  baseMs: number;
  /** σ of the log-normal noise on each service time. */
  noise: number;
  /** A request not answered this long after it arrived fails (the downstream stops working on it). */
  deadlineMs: number;
  /** Longest wait in the limiter's queue, ms (then the request is shed). */
  queueTimeoutMs: number;
}

export interface Limits {
  /** A fresh algorithm per run; undefined means a fixed limit of `initialLimit`. */
  algorithm?: () => LimitAlgorithm;
  initialLimit: number;
  minLimit?: number;
  maxLimit?: number;
}

export interface PhaseResult {
  name: string;
  seconds: number;
  arrived: number;
  completed: number;
  timedOut: number;
  shed: number;
  /** Completed within the deadline, per second. */
  goodput: number;
  p50: number;
  p99: number;
  limitMin: number;
  limitMax: number;
  limitMean: number;
  /**
   * Virtual ms from the phase start until the limit's per-second median stayed within 20 % of
   * the capacity to the end of the phase (undefined: never).
   */
  settledAfterMs: number | undefined;
}

export interface RunResult {
  phases: PhaseResult[];
  /** [virtual ms, limit], sampled every `sampleMs`. */
  limit: Array<[number, number]>;
  /** [virtual ms, p99 of the completions in that second]. */
  p99: Array<[number, number]>;
}

export interface RunOptions {
  seed: number;
  downstream: Downstream;
  phases: Phase[];
  limits: Limits;
  sampleMs?: number;
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

const fixed: LimitAlgorithm = { update: (_sample, limit) => limit };

export async function simulate(options: RunOptions): Promise<RunResult> {
  const { downstream, phases, limits } = options;
  const sampleMs = options.sampleMs ?? 100;
  const loop = new EventLoop();
  const arrivals = seeded(options.seed);
  const noise = seeded(options.seed ^ 0x9e3779b9);
  const semaphore = new AdaptiveSemaphore({
    algorithm: limits.algorithm ? limits.algorithm() : fixed,
    initialLimit: limits.initialLimit,
    minLimit: limits.algorithm ? (limits.minLimit ?? 1) : limits.initialLimit,
    maxLimit: limits.algorithm ? (limits.maxLimit ?? 1000) : limits.initialLimit,
    now: loop.clock,
  });

  let capacity = downstream.capacity;
  let inFlight = 0;
  let phaseIndex = 0;
  const starts: number[] = [];
  let t = 0;
  for (const phase of phases) {
    starts.push(t);
    t += phase.seconds * 1000;
  }
  const end = t;

  interface Tally {
    arrived: number;
    completed: number;
    timedOut: number;
    shed: number;
    latencies: number[];
    limits: number[];
  }
  const tallies: Tally[] = phases.map(() => ({
    arrived: 0,
    completed: 0,
    timedOut: 0,
    shed: 0,
    latencies: [],
    limits: [],
  }));
  const phaseAt = (time: number): number => {
    let i = phases.length - 1;
    while (i > 0 && time < starts[i]!) i--;
    return i;
  };
  const limitSeries: Array<[number, number]> = [];
  const p99Series: Array<[number, number]> = [];
  let second: number[] = [];

  const serve = (permit: AdaptivePermit, arrivedAt: number): void => {
    inFlight++;
    const service =
      downstream.baseMs * Math.max(1, inFlight / capacity) * logNormal(noise, downstream.noise);
    const remaining = arrivedAt + downstream.deadlineMs - loop.now;
    if (service <= remaining) {
      loop.at(loop.now + service, () => {
        inFlight--;
        permit.release();
        const latency = loop.now - arrivedAt;
        tallies[phaseAt(loop.now)]!.completed++;
        tallies[phaseAt(loop.now)]!.latencies.push(latency);
        second.push(latency);
      });
    } else {
      loop.at(loop.now + remaining, () => {
        inFlight--;
        permit.drop();
        tallies[phaseAt(loop.now)]!.timedOut++;
      });
    }
  };

  const arrive = (): void => {
    const arrivedAt = loop.now;
    const tally = tallies[phaseIndex]!;
    tally.arrived++;
    const controller = new AbortController();
    const expiry = loop.at(arrivedAt + downstream.queueTimeoutMs, () => controller.abort());
    semaphore.acquire({ signal: controller.signal }).then(
      (permit) => {
        expiry.cancel();
        serve(permit, arrivedAt);
      },
      () => {
        tallies[phaseAt(loop.now)]!.shed++;
      },
    );
    const phase = phases[phaseIndex]!;
    const meanGap = downstream.baseMs / (downstream.capacity * phase.load);
    const next = arrivedAt + exponential(arrivals, meanGap);
    if (next < end) loop.at(next, arrive);
  };

  phases.forEach((phase, i) => {
    loop.at(starts[i]!, () => {
      phaseIndex = i;
      capacity = downstream.capacity * phase.capacity;
    });
  });
  for (let time = 0; time < end; time += sampleMs) {
    loop.at(time, () => {
      limitSeries.push([loop.now, semaphore.limit]);
      tallies[phaseAt(loop.now)]!.limits.push(semaphore.limit);
    });
  }
  for (let time = 1000; time <= end; time += 1000) {
    loop.at(time, () => {
      second.sort((a, b) => a - b);
      p99Series.push([loop.now, second.length > 0 ? quantile(second, 0.99) : Number.NaN]);
      second = [];
    });
  }
  loop.at(0, arrive);
  await loop.runUntil(end);
  semaphore.close();

  const results = phases.map((phase, i): PhaseResult => {
    const tally = tallies[i]!;
    const sorted = tally.latencies.sort((a, b) => a - b);
    const right = downstream.capacity * phase.capacity;
    // Settled: from the first second after which the limit's median over each second stays
    // within 20 % of the capacity. The median, so that gradient2's probes (half the limit for a
    // few round trips, on purpose) do not count as unsettled.
    const perSecond = Math.max(1, Math.round(1000 / sampleMs));
    const medians: number[] = [];
    for (let k = 0; k < tally.limits.length; k += perSecond) {
      const window = tally.limits.slice(k, k + perSecond).sort((a, b) => a - b);
      medians.push(window[Math.floor(window.length / 2)]!);
    }
    let settledSecond: number | undefined;
    for (let k = medians.length - 1; k >= 0; k--) {
      if (Math.abs(medians[k]! - right) > 0.2 * right) break;
      settledSecond = k;
    }
    return {
      name: phase.name,
      seconds: phase.seconds,
      arrived: tally.arrived,
      completed: tally.completed,
      timedOut: tally.timedOut,
      shed: tally.shed,
      goodput: tally.completed / phase.seconds,
      p50: quantile(sorted, 0.5),
      p99: quantile(sorted, 0.99),
      limitMin: Math.min(...tally.limits),
      limitMax: Math.max(...tally.limits),
      limitMean: tally.limits.reduce((a, b) => a + b, 0) / tally.limits.length,
      settledAfterMs: settledSecond === undefined ? undefined : settledSecond * 1000,
    };
  });
  return { phases: results, limit: limitSeries, p99: p99Series };
}
