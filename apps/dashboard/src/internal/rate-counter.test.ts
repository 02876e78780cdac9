import { describe, expect, it } from 'vitest';
import { RateCounter } from './rate-counter.js';

describe('RateCounter', () => {
  it('counts what happened during the last second', () => {
    const rate = new RateCounter(1000, 10);
    for (let t = 0; t < 1000; t += 50) rate.add(t); // 20 in the first second
    expect(rate.perSecond(999)).toBe(20);
    expect(rate.perSecond(1450)).toBe(10); // buckets 0-400 have gone out of the window
    expect(rate.perSecond(2000)).toBe(0);
  });

  it('starts a bucket afresh on its next lap rather than adding to stale counts', () => {
    const rate = new RateCounter(1000, 10);
    rate.add(0, 5);
    rate.add(1000, 1); // same slot, one lap later
    expect(rate.perSecond(1000)).toBe(1);
  });

  it('scales to per second for other windows', () => {
    const rate = new RateCounter(2000, 4);
    rate.add(0, 10);
    expect(rate.perSecond(100)).toBe(5);
  });
});
