// The scenario `pnpm bench:adaptive` runs, and the targets of issue 14 checked against it.

import { aimd, gradient2, vegas } from '@sluice/core';
import type { Downstream, Limits, Phase, RunResult } from './simulation.js';

export const DOWNSTREAM: Downstream = {
  capacity: 40,
  baseMs: 50,
  noise: 0.1,
  deadlineMs: 1000,
  queueTimeoutMs: 250,
};

export const PHASES: Phase[] = [
  // Every limiter starts cold (the adaptive ones at 20, where 32 are needed): not scored.
  { name: 'warm-up 80 %', seconds: 10, load: 0.8, capacity: 1, scored: false },
  { name: 'steady 80 %', seconds: 30, load: 0.8, capacity: 1 },
  { name: 'overload 150 %', seconds: 30, load: 1.5, capacity: 1 },
  { name: 'capacity halved', seconds: 30, load: 1.5, capacity: 0.5 },
  { name: 'capacity back', seconds: 30, load: 1.5, capacity: 1 },
];

/** 10 minutes at 120 % of capacity: the upward-creep check for gradient2. */
export const SUSTAINED: Phase[] = [
  { name: 'sustained 120 %', seconds: 600, load: 1.2, capacity: 1 },
];

export interface Config {
  name: string;
  adaptive: boolean;
  limits: Limits;
}

export const CONFIGS: Config[] = [
  { name: 'fixed 10 (too low)', adaptive: false, limits: { initialLimit: 10 } },
  { name: 'fixed 40 (right)', adaptive: false, limits: { initialLimit: 40 } },
  { name: 'fixed 400 (too high)', adaptive: false, limits: { initialLimit: 400 } },
  // AIMD knows nothing below its `timeout`: set it to the latency you promise (here 2 × base).
  // It therefore settles where the latency reaches 100 ms, about 1.8 × the capacity, and misses
  // the settling checks by construction (at `timeout: 60` it passes them): kept at 100 rather
  // than tuned to the target. See docs/adaptive-limits.md.
  {
    name: 'aimd',
    adaptive: true,
    limits: { algorithm: () => aimd({ timeout: 100 }), initialLimit: 20 },
  },
  { name: 'gradient2', adaptive: true, limits: { algorithm: () => gradient2(), initialLimit: 20 } },
  { name: 'vegas', adaptive: true, limits: { algorithm: () => vegas(), initialLimit: 20 } },
];

export interface Check {
  target: string;
  config: string;
  phase: string;
  value: string;
  pass: boolean;
}

/** The targets: goodput and p99 against the best fixed limit per phase, settling, no creep. */
export function check(results: Map<string, RunResult>, sustainedMax?: number): Check[] {
  const checks: Check[] = [];
  const fixedNames = CONFIGS.filter((c) => !c.adaptive).map((c) => c.name);
  PHASES.forEach((phase, i) => {
    if (phase.scored === false) return;
    let best = fixedNames[0]!;
    for (const name of fixedNames) {
      if (results.get(name)!.phases[i]!.goodput > results.get(best)!.phases[i]!.goodput)
        best = name;
    }
    const reference = results.get(best)!.phases[i]!;
    for (const config of CONFIGS.filter((c) => c.adaptive)) {
      const own = results.get(config.name)!.phases[i]!;
      const ratio = own.goodput / reference.goodput;
      checks.push({
        target: `goodput >= 90 % of best fixed (${best})`,
        config: config.name,
        phase: phase.name,
        value: `${(ratio * 100).toFixed(0)} %`,
        pass: ratio >= 0.9,
      });
      const p99 = own.p99 / reference.p99;
      checks.push({
        target: `p99 <= 1.5 x that fixed limit's`,
        config: config.name,
        phase: phase.name,
        value: `${p99.toFixed(2)} x`,
        pass: p99 <= 1.5,
      });
      if (i > 0 && phase.capacity !== PHASES[i - 1]!.capacity) {
        const settled = own.settledAfterMs;
        checks.push({
          target: 'limit within 20 % of capacity within 10 s',
          config: config.name,
          phase: phase.name,
          value: settled === undefined ? 'never' : `${(settled / 1000).toFixed(1)} s`,
          pass: settled !== undefined && settled <= 10_000,
        });
      }
    }
  });
  if (sustainedMax !== undefined) {
    const ratio = sustainedMax / DOWNSTREAM.capacity;
    checks.push({
      target: 'gradient2 limit never above 1.5 x capacity in 10 min at 120 %',
      config: 'gradient2',
      phase: SUSTAINED[0]!.name,
      value: `max ${sustainedMax} (${ratio.toFixed(2)} x)`,
      pass: ratio <= 1.5,
    });
  }
  return checks;
}
