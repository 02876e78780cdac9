import { gradient2 } from '@sluice/core';
import { describe, expect, it } from 'vitest';
import { EventLoop } from '../src/adaptive/event-loop.js';
import { chart } from '../src/adaptive/report.js';
import { type RunOptions, simulate } from '../src/adaptive/simulation.js';

// Small and fast: 4 virtual seconds, a small downstream. Checks determinism and the shape.

const options = (seed: number, initialLimit = 8, adaptive = true): RunOptions => ({
  seed,
  downstream: { capacity: 8, baseMs: 20, noise: 0.1, deadlineMs: 400, queueTimeoutMs: 100 },
  phases: [
    { name: 'steady', seconds: 2, load: 0.8, capacity: 1 },
    { name: 'overload', seconds: 2, load: 1.5, capacity: 0.5 },
  ],
  limits: adaptive ? { algorithm: () => gradient2(), initialLimit } : { initialLimit },
});

describe('adaptive simulation', () => {
  it('same seed, same numbers', async () => {
    const a = await simulate(options(7));
    const b = await simulate(options(7));
    expect(a).toEqual(b);
    const c = await simulate(options(8));
    expect(c.phases[0]!.arrived).not.toBe(a.phases[0]!.arrived);
  });

  it('accounts for every arrival and respects a fixed limit', async () => {
    const run = await simulate(options(3, 4, false));
    for (const phase of run.phases) {
      expect(phase.limitMin).toBe(4);
      expect(phase.limitMax).toBe(4);
      expect(phase.completed + phase.timedOut + phase.shed).toBeLessThanOrEqual(phase.arrived + 40);
      expect(phase.goodput).toBeGreaterThan(0);
      expect(phase.p99).toBeGreaterThanOrEqual(phase.p50);
    }
    expect(run.limit.length).toBe(40);
  });

  it('the event loop runs events in time order, ties in scheduling order, skipping cancelled ones', async () => {
    const loop = new EventLoop();
    const seen: string[] = [];
    loop.at(5, () => seen.push('b'));
    loop.at(1, () => seen.push('a'));
    loop.at(5, () => seen.push('c'));
    loop.at(3, () => seen.push('x')).cancel();
    loop.at(2, () => {
      void Promise.resolve().then(() => seen.push(`micro@${loop.now}`));
    });
    await loop.runUntil(10);
    expect(seen).toEqual(['a', 'micro@2', 'b', 'c']);
    expect(loop.now).toBe(10);
  });

  it('draws an SVG chart', async () => {
    const run = await simulate(options(1));
    const svg = chart(new Map([['gradient2', run]]), [0, 2000], 'test');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('<polyline');
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
  });
});
