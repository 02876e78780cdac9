import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SampleWindow } from './sample-window.js';

const nearestRank = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
};

describe('SampleWindow', () => {
  it('gives exact nearest-rank percentiles of what it holds', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 200 }),
        fc.constantFrom(0, 1, 50, 90, 99, 100),
        (values, p) => {
          const window = new SampleWindow(1000, 500);
          for (const value of values) window.add(0, value);
          expect(window.percentiles(0, [p])).toEqual([nearestRank(values, p)]);
        },
      ),
    );
  });

  it('forgets samples as they leave the window, and is NaN when empty', () => {
    const window = new SampleWindow(1000, 100);
    window.add(0, 500);
    window.add(600, 10);
    expect(window.percentiles(900, [50, 100])).toEqual([10, 500]);
    expect(window.percentiles(1000, [50, 100])).toEqual([10, 10]); // the first is 1000 ms old
    expect(window.percentiles(1600, [50])).toEqual([Number.NaN]);
  });

  it('keeps the newest maxSamples when more arrive within the window', () => {
    const window = new SampleWindow(1000, 3);
    for (const value of [100, 200, 1, 2, 3]) window.add(0, value);
    expect(window.percentiles(0, [0, 100])).toEqual([1, 3]);
  });
});
