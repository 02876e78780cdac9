import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BucketScheduler, type Scheduled } from './bucket-scheduler.js';

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(0);
});

afterEach(() => {
  vi.useRealTimers();
});

function item(name: number, log: [number, number][]): Scheduled {
  return { due: 0, slot: -1, wake: () => log.push([name, Date.now()]) };
}

describe('BucketScheduler', () => {
  it('wakes every armed item at its time, in time order, on one timer', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            delay: fc.integer({ min: 1, max: 500 }),
            rearm: fc.option(fc.integer({ min: 1, max: 500 }), { nil: undefined }),
            cancel: fc.boolean(),
          }),
          { minLength: 1, maxLength: 40 },
        ),
        async (specs) => {
          vi.setSystemTime(0);
          const log: [number, number][] = [];
          const scheduler = new BucketScheduler(() => Date.now());
          const items = specs.map((_, i) => item(i, log));
          for (const [i, spec] of specs.entries()) scheduler.arm(items[i]!, spec.delay);
          const expected = new Map<number, number>();
          specs.forEach((spec, i) => {
            if (spec.cancel) scheduler.disarm(items[i]!);
            else if (spec.rearm !== undefined) {
              scheduler.arm(items[i]!, spec.rearm);
              expected.set(i, spec.rearm);
            } else expected.set(i, spec.delay);
          });
          expect(vi.getTimerCount()).toBe(expected.size > 0 ? 1 : 0);
          await vi.advanceTimersByTimeAsync(1000);
          expect(new Map(log)).toEqual(expected);
          expect(log.length).toBe(expected.size);
          const times = log.map(([, at]) => at);
          expect(times).toEqual([...times].sort((a, b) => a - b));
          expect(vi.getTimerCount()).toBe(0);
          expect(items.every((it) => it.slot === -1)).toBe(true);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('an item woken early by a clock that lags is woken again when due', async () => {
    let t = 0;
    const log: [number, number][] = [];
    const scheduler = new BucketScheduler(() => t);
    scheduler.arm(item(1, log), 100);
    await vi.advanceTimersByTimeAsync(100); // the timer fires, the clock has not moved
    expect(log).toEqual([]);
    expect(vi.getTimerCount()).toBe(1);
    t = 100;
    await vi.advanceTimersByTimeAsync(100);
    expect(log.length).toBe(1);
    expect(vi.getTimerCount()).toBe(0);
  });
});
